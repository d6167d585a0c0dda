import Torch

/// Modalities' CoCa (contrastive captioner, arXiv:2205.01917): a vision transformer encodes the images; attention
/// pooling with `n_vision_queries + 1` learned queries turns its tokens into the image tokens the multimodal decoder
/// cross-attends to and one contrastive image embedding; a causal text decoder appends a class token to the text
/// (the contrastive text embedding); a multimodal decoder runs causal self-attention over the text, cross-attention
/// to the image tokens and an MLP per block, then the final norm and the head, which is tied to the text decoder's
/// token embedding.
///
/// Parameter names are Modalities' (`vision_encoder.blocks.0.attention.wq.weight`, `text_decoder.transformer.wte.weight`,
/// `multimodal_decoder.transformer.h.0.cross_attn.wq.weight`, `vision_queries`, `attn_pool.ln_1.weight`). Its blocks,
/// in the order FSDP wraps them: the vision transformer's (`VisionTransformerBlock`), then the text decoder's and the
/// multimodal decoder's (`TransformerBlock`).
public final class CoCa: BlockStructuredModel {
    /// The keys the forward reads and writes (Modalities' `*_key` fields).
    public struct Keys: Sendable, Equatable {
        public var images: String
        public var text: String
        public var logits: String
        public var visionClass: String
        public var textClass: String

        public init(images: String, text: String, logits: String, visionClass: String, textClass: String) {
            self.images = images
            self.text = text
            self.logits = logits
            self.visionClass = visionClass
            self.textClass = textClass
        }
    }

    private struct TextBlock {
        let ln1: Norm
        let attention: MultiHeadAttention
        let ln2: Norm
        let mlp: FeedForward
    }

    private struct MultimodalBlock {
        let ln1: Norm
        let attention: MultiHeadAttention
        let ln3: Norm
        let crossAttention: MultiHeadAttention
        let ln4: Norm
        let mlp: FeedForward
    }

    public let config: CoCaConfig
    public let keys: Keys
    public let seed: UInt64
    public let parameters: ParameterStore
    public let weightDecayGroups: [String: [String]] = [
        "linear": [".attn.", ".attention.", ".cross_attn.", ".mlp.", ".mlp_2.", "lm_head", "head.weight"],
        "embedding": [".wte.", ".wpe.", "embedding_fn", "positional_embedding_fn", "cls_token", "vision_queries"],
        "layernorm": ["norm", "ln_"],
    ]
    private let vision: VisionEncoder
    private let textClassToken: Tensor
    private let tokenEmbedding: Tensor
    private let textPositions: Tensor
    private let textBlocks: [TextBlock]
    private let multimodalBlocks: [MultimodalBlock]
    private let finalNorm: Norm
    private let visionQueries: Tensor
    private let pool: (ln1: Norm, attention: MultiHeadAttention, ln2: Norm)
    /// Runs around every block (FSDP's per-block gather); blocks are numbered vision, text, multimodal.
    public var blockWrapper: BlockWrapper? {
        didSet { vision.blockWrapper = blockWrapper }
    }
    /// Blocks (numbered as ``blockParameterPrefix(_:)``) recomputed in backward (activation checkpointing).
    public var checkpointedLayers: Set<Int> = [] {
        didSet { vision.checkpointedLayers = Set(checkpointedLayers.filter { $0 < config.vision.layerCount }) }
    }

    public var blockCount: Int { config.vision.layerCount + config.text.textLayerCount + config.text.multimodalLayerCount }

    public func blockParameterPrefix(_ block: Int) -> String {
        let visionCount = config.vision.layerCount
        let textCount = config.text.textLayerCount
        if block < visionCount { return vision.blockPrefix(block) }
        if block < visionCount + textCount { return "text_decoder.transformer.h.\(block - visionCount)." }
        return "multimodal_decoder.transformer.h.\(block - visionCount - textCount)."
    }

    /// Modalities' class of block `block` (what `block_names` and `activation_checkpointing_modules` name).
    public func blockTypeName(_ block: Int) -> String {
        block < config.vision.layerCount ? "VisionTransformerBlock" : "TransformerBlock"
    }

    /// Builds the model with all parameters zero (norm weights one); initialise or load them next.
    public init(config: CoCaConfig, keys: Keys, seed: UInt64 = 0, dtype: DType = .float32, device: Device = .cpu) throws {
        try config.validate()
        self.config = config
        self.keys = keys
        self.seed = seed
        let store = ParameterStore(dtype: dtype, device: device)
        parameters = store
        // PyTorch lists a module's own parameters before its children's: the queries first.
        let visionWidth = config.vision.embeddingSize
        visionQueries = try store.make("vision_queries", shape: [config.visionQueryCount + 1, visionWidth])
        vision = try VisionEncoder(prefix: "vision_encoder.", config: config.vision, in: store)
        let t = config.text
        let d = t.embeddingSize
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm, epsilon: t.epsilon, bias: t.bias)
        func feedForward(_ name: String) throws -> FeedForward {
            try FeedForward(name, width: d, hidden: t.ffnHidden, bias: t.bias, activation: t.activation, dropout: t.dropout, in: store)
        }
        func attention(_ name: String, _ kind: MultiHeadAttention.Kind) throws -> MultiHeadAttention {
            try MultiHeadAttention(name, width: d, heads: t.headCount, bias: t.bias, kind: kind, engine: t.attentionEngine, in: store)
        }
        textClassToken = try store.make("text_decoder.cls_token", shape: [1, 1, d])
        tokenEmbedding = try store.make("text_decoder.transformer.wte.weight", shape: [t.vocabularySize, d])
        textPositions = try store.make("text_decoder.transformer.wpe.weight", shape: [t.blockSize + 1, d])
        textBlocks = try (0..<t.textLayerCount).map { layer in
            let name = "text_decoder.transformer.h.\(layer)"
            return TextBlock(
                ln1: try Norm("\(name).ln_1", size: d, config: norm, in: store),
                attention: try attention("\(name).attn", .causalSelfAttention),
                ln2: try Norm("\(name).ln_2", size: d, config: norm, in: store),
                mlp: try feedForward("\(name).mlp"))
        }
        multimodalBlocks = try (0..<t.multimodalLayerCount).map { layer in
            let name = "multimodal_decoder.transformer.h.\(layer)"
            return MultimodalBlock(
                ln1: try Norm("\(name).ln_1", size: d, config: norm, in: store),
                attention: try attention("\(name).attn", .causalSelfAttention),
                ln3: try Norm("\(name).ln_3", size: d, config: norm, in: store),
                crossAttention: try attention("\(name).cross_attn", .crossAttention),
                ln4: try Norm("\(name).ln_4", size: d, config: norm, in: store),
                mlp: try feedForward("\(name).mlp_2"))
        }
        finalNorm = try Norm("multimodal_decoder.transformer.ln_f", size: d, config: norm, in: store)
        store.alias("multimodal_decoder.lm_head.weight", to: tokenEmbedding)
        let poolNorm = GPT2LLMConfig.Norm(kind: .layerNorm, epsilon: config.poolEpsilon, bias: config.poolBias)
        pool = (
            try Norm("attn_pool.ln_1", size: visionWidth, config: poolNorm, in: store),
            // Modalities builds the pooling's attention with PyTorch's default bias (true), whatever bias_attn_pool.
            try MultiHeadAttention(
                "attn_pool.attn", width: visionWidth, heads: config.poolHeadCount, bias: true, kind: .crossAttention,
                engine: t.attentionEngine, in: store),
            try Norm("attn_pool.ln_2", size: visionWidth, config: poolNorm, in: store)
        )
    }

    /// Logits (batch, text length, vocabulary) under `keys.logits`, and the contrastive embeddings (batch, 1,
    /// n_embd) under `keys.visionClass` and `keys.textClass`, for images under `keys.images` and token ids under
    /// `keys.text`.
    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        func input(_ key: String) throws -> Tensor {
            guard let tensor = inputs[key] else {
                throw ModelError.invalidConfig("the batch has no '\(key)' (keys: \(inputs.keys.sorted().joined(separator: ", ")))")
            }
            return tensor
        }
        let images = try input(keys.images)
        let tokens = try input(keys.text)
        let (imageTokens, visionClass) = try encodeImages(images, training: training)
        let (text, textClass) = try encodeText(tokens, training: training)
        return [keys.logits: try decode(text, imageTokens: imageTokens, training: training), keys.visionClass: visionClass, keys.textClass: textClass]
    }

    /// The pooled image tokens (batch, n_vision_queries, n_embd) and the image embedding (batch, 1, n_embd).
    private func encodeImages(_ images: Tensor, training: Bool) throws -> (Tensor, Tensor) {
        let encoded = try vision(images, sampleKey: keys.images, training: training)
        let batch = encoded.size(0)
        let queries = try visionQueries.unsqueeze(0).expand([batch, config.visionQueryCount + 1, config.vision.embeddingSize])
        let pooled = try pool.ln2(pool.attention(queries, context: pool.ln1(encoded)))
        return (
            try pooled.narrow(1, start: 0, length: config.visionQueryCount),
            try pooled.narrow(1, start: config.visionQueryCount, length: 1)
        )
    }

    /// The text decoder's output for the tokens (batch, length, n_embd) and for its class token (batch, 1, n_embd).
    private func encodeText(_ tokens: Tensor, training: Bool) throws -> (Tensor, Tensor) {
        let t = config.text
        guard tokens.shape.count == 2, !tokens.dtype.isFloatingPoint else {
            throw ModelError.invalidConfig(
                "'\(keys.text)' must be token ids (batch, length) of an integer type; found \(tokens.dtype) of shape \(tokens.shape)")
        }
        let (batch, length) = (tokens.size(0), tokens.size(1))
        guard length <= t.blockSize else {
            throw ModelError.invalidConfig(
                "'\(keys.text)' has shape \(tokens.shape): \(length) tokens exceed text_decoder_config.block_size \(t.blockSize)")
        }
        // One reduction (one host read) per forward; the range is read only for the message.
        if tokens.count > 0, try tokens.ge(0).logicalAnd(try tokens.lt(Double(t.vocabularySize))).all().logicalNot().item(Bool.self) {
            throw ModelError.invalidConfig(
                "'\(keys.text)' holds token ids \(try tokens.min().item(Int.self))...\(try tokens.max().item(Int.self)), outside text_decoder_config.vocab_size \(t.vocabularySize)"
            )
        }
        let embedded = try Tensor.cat(
            [try Functional.embedding(tokens, weight: tokenEmbedding), try textClassToken.expand([batch, 1, t.embeddingSize])], dim: 1)
        var x = try dropout(embedded + textPositions.narrow(0, start: 0, length: length + 1), training: training)
        for (index, block) in textBlocks.enumerated() {
            let run: (Tensor) throws -> Tensor = { h in
                let attended = try h + block.attention(block.ln1(h))
                return try attended + block.mlp(block.ln2(attended), training: training)
            }
            let block = config.vision.layerCount + index
            x = try wrapped(block, x) { h in
                guard self.checkpointedLayers.contains(block), Autograd.isGradEnabled else { return try run(h) }
                return try ActivationCheckpoint.apply(name: "CheckpointedTransformerBlock\(block)", input: h, run)
            }
        }
        return (try x.narrow(1, start: 0, length: length), try x.narrow(1, start: length, length: 1))
    }

    /// The multimodal decoder's logits for the text decoder's output, cross-attending to the image tokens.
    private func decode(_ text: Tensor, imageTokens: Tensor, training: Bool) throws -> Tensor {
        var x = text
        let length = text.size(1)
        let first = config.vision.layerCount + config.text.textLayerCount
        for (index, block) in multimodalBlocks.enumerated() {
            let run: (Tensor, Tensor) throws -> Tensor = { h, context in
                let attended = try h + block.attention(block.ln1(h))
                let informed = try attended + block.crossAttention(block.ln3(attended), context: context)
                return try informed + block.mlp(block.ln4(informed), training: training)
            }
            x = try wrapped(first + index, x) { h in
                guard self.checkpointedLayers.contains(first + index), Autograd.isGradEnabled else { return try run(h, imageTokens) }
                // Recomputed from the text and the image tokens together, so both get their gradients back.
                let joined = try Tensor.cat([h, imageTokens], dim: 1)
                return try ActivationCheckpoint.apply(name: "CheckpointedTransformerBlock\(first + index)", input: joined) { joined in
                    try run(
                        joined.narrow(1, start: 0, length: length),
                        joined.narrow(1, start: length, length: joined.size(1) - length))
                }
            }
        }
        return try Functional.linear(finalNorm(x), weight: tokenEmbedding)
    }

    /// Runs block `index` through the wrapper (FSDP's gather), or directly without one.
    private func wrapped(_ index: Int, _ x: Tensor, _ body: @escaping (Tensor) throws -> Tensor) throws -> Tensor {
        try blockWrapper.map { try $0(index, x, body) } ?? body(x)
    }

    private func dropout(_ x: Tensor, training: Bool) throws -> Tensor {
        training && config.text.dropout > 0 ? try Functional.dropout(x, p: config.text.dropout, training: true) : x
    }
}
