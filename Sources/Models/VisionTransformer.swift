import Torch

/// Modalities' `VisionTransformer` (ViT): images cut into patches by a strided convolution, an optional class token,
/// learned positions, pre-norm blocks of non-causal self-attention and a GELU MLP, and optionally a classification
/// head (over the class token, else over the mean of the patch tokens).
///
/// Parameter names are Modalities' (`embedding_fn.conv.weight`, `blocks.0.attention.wq.weight`, `head.weight`).
public final class VisionTransformer: BlockStructuredModel {
    public let config: VisionTransformerConfig
    public let sampleKey: String
    public let predictionKey: String
    public let seed: UInt64
    public let parameters: ParameterStore
    public let weightDecayGroups: [String: [String]] = [
        "linear": [".attention", ".mlp", "head.weight"], "embedding": ["embedding_fn", "positional_embedding_fn"],
        "layernorm": ["norm"],
    ]
    public var blockWrapper: BlockWrapper? {
        get { encoder.blockWrapper }
        set { encoder.blockWrapper = newValue }
    }
    /// Blocks whose activations are recomputed in backward (activation checkpointing).
    public var checkpointedLayers: Set<Int> {
        get { encoder.checkpointedLayers }
        set { encoder.checkpointedLayers = newValue }
    }
    public var blockCount: Int { config.layerCount }
    public func blockParameterPrefix(_ block: Int) -> String { encoder.blockPrefix(block) }
    let encoder: VisionEncoder

    /// Builds the model with all parameters zero (norm weights one); initialise or load them next.
    public init(
        config: VisionTransformerConfig, sampleKey: String = "images", predictionKey: String = "logits", seed: UInt64 = 0,
        dtype: DType = .float32, device: Device = .cpu
    ) throws {
        try config.validate()
        self.config = config
        self.sampleKey = sampleKey
        self.predictionKey = predictionKey
        self.seed = seed
        parameters = ParameterStore(dtype: dtype, device: device)
        encoder = try VisionEncoder(prefix: "", config: config, in: parameters)
    }

    /// `{prediction_key: …}` for `{sample_key: images}`: class scores (batch, n_classes) with a head, else the
    /// image tokens (batch, tokens, n_embd).
    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        guard let images = inputs[sampleKey] else {
            throw ModelError.invalidConfig("the batch has no '\(sampleKey)' (keys: \(inputs.keys.sorted().joined(separator: ", ")))")
        }
        return [predictionKey: try encoder(images, sampleKey: sampleKey, training: training)]
    }
}

/// The vision transformer's layers under a name prefix (`vision_encoder.` inside CoCa), shared by
/// ``VisionTransformer`` and ``CoCa``.
final class VisionEncoder {
    struct Block {
        let norm1: Norm
        let attention: MultiHeadAttention
        let norm2: Norm
        let mlp: FeedForward
    }

    let prefix: String
    let config: VisionTransformerConfig
    let patchWeight: Tensor
    let patchBias: Tensor
    let classToken: Tensor?
    let positions: Tensor
    let blocks: [Block]
    let head: (norm: Norm, linear: Linear)?
    var blockWrapper: BlockWrapper?
    var checkpointedLayers: Set<Int> = []
    /// Added to a block index before it reaches ``blockWrapper`` (CoCa numbers all its blocks in one sequence).
    var blockOffset = 0

    init(prefix: String, config: VisionTransformerConfig, in store: ParameterStore) throws {
        self.prefix = prefix
        self.config = config
        let d = config.embeddingSize
        // Modalities' blocks make their norms with PyTorch's defaults and their attention with bias, whatever `bias`.
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm, epsilon: 1e-5, bias: true)
        // PyTorch lists a module's own parameters before its children's: the class token before the convolution.
        classToken = config.addsClassToken ? try store.make("\(prefix)embedding_fn.cls_token", shape: [1, 1, d]) : nil
        patchWeight = try store.make(
            "\(prefix)embedding_fn.conv.weight", shape: [d, config.imageChannels, config.patchSize, config.patchSize])
        patchBias = try store.make("\(prefix)embedding_fn.conv.bias", shape: [d])
        positions = try store.make("\(prefix)positional_embedding_fn.weight", shape: [config.tokenCount, d])
        blocks = try (0..<config.layerCount).map { layer in
            let name = "\(prefix)blocks.\(layer)"
            return Block(
                norm1: try Norm("\(name).norm1", size: d, config: norm, in: store),
                attention: try MultiHeadAttention(
                    "\(name).attention", width: d, heads: config.headCount, bias: true, kind: .nonCausalSelfAttention,
                    engine: config.attentionEngine, in: store),
                norm2: try Norm("\(name).norm2", size: d, config: norm, in: store),
                mlp: try FeedForward(
                    "\(name).mlp", width: d, hidden: config.ffnHidden, bias: config.bias, activation: .gelu, dropout: config.dropout,
                    in: store))
        }
        head =
            try config.classCount.map { classes in
                (
                    try Norm("\(prefix)norm", size: d, config: norm, in: store),
                    try Linear("\(prefix)head", input: d, output: classes, bias: config.bias, in: store)
                )
            }
    }

    func blockPrefix(_ block: Int) -> String { "\(prefix)blocks.\(block)." }

    /// The image tokens (batch, tokens, n_embd), or class scores with a head, for images (batch, channels, height,
    /// width) of the configured size.
    func callAsFunction(_ images: Tensor, sampleKey: String, training: Bool) throws -> Tensor {
        let expected = [config.imageChannels, config.imageSize.height, config.imageSize.width]
        guard images.shape.count == 4, Array(images.shape.dropFirst()) == expected else {
            throw ModelError.invalidConfig(
                "'\(sampleKey)' has shape \(images.shape), but the vision encoder takes (batch, \(expected.map(String.init).joined(separator: ", "))) images (n_img_channels, img_size)"
            )
        }
        guard images.dtype.isFloatingPoint else {
            throw ModelError.invalidConfig(
                "'\(sampleKey)' holds \(images.dtype) values, but images are floating point (sample_type: float)")
        }
        let batch = images.size(0)
        let input = try images.to(dtype: patchWeight.dtype)
        var x = try Functional.conv2d(input, weight: patchWeight, bias: patchBias, stride: config.patchStride)
            .flatten(startDim: 2).transpose(1, 2)
        if let classToken { x = try Tensor.cat([classToken.expand([batch, 1, config.embeddingSize]), x], dim: 1) }
        x = try x + positions
        if training && config.dropout > 0 { x = try Functional.dropout(x, p: config.dropout, training: true) }
        for (index, block) in blocks.enumerated() {
            let body: (Tensor) throws -> Tensor = { h in
                let run: (Tensor) throws -> Tensor = { h in
                    let attended = try h + block.attention(block.norm1(h))
                    return try attended + block.mlp(block.norm2(attended), training: training)
                }
                guard self.checkpointedLayers.contains(index), Autograd.isGradEnabled else { return try run(h) }
                return try ActivationCheckpoint.apply(name: "CheckpointedVisionTransformerBlock\(index)", input: h, run)
            }
            x = try blockWrapper.map { try $0(index + blockOffset, x, body) } ?? body(x)
        }
        guard let head else { return x }
        let pooled = classToken != nil ? try x.select(1, 0) : try x.mean(dims: [1])
        return try head.linear(head.norm(pooled))
    }
}
