import Foundation
import Torch

/// Modalities' GPT2LLM: token embeddings, optional learned positions, pre-norm transformer blocks with
/// (grouped-query) causal self-attention and a GELU or SwiGLU MLP, a final norm and the language-model head.
///
/// Parameter names are Modalities' state-dict names (`transformer.wte.weight`, `transformer.h.0.attn.q_attn.weight`,
/// `transformer.lm_head.weight`), so its checkpoints map one to one.
public final class GPT2LLM: BlockStructuredModel {
    public let config: GPT2LLMConfig
    public let sampleKey: String
    public let predictionKey: String
    /// Seed for initialisation (Modalities' model `seed`).
    public let seed: UInt64
    /// Modalities' groups: `linear`, `embedding` and `layernorm` parameters by name.
    public let weightDecayGroups: [String: [String]] = [
        "linear": [".attn", ".mlp", ".lm_head.weight"],
        "embedding": [".wte", ".wpe"],
        "layernorm": [".attention_norm", ".ffn_norm", ".lm_head_norm"],
    ]
    public let parameters: ParameterStore
    private let tokenEmbedding: Tensor?
    private let positionEmbedding: Tensor?
    private let blocks: [Block]
    private let finalNorm: Norm?
    private let head: Tensor?
    /// Blocks (by index) whose activations are recomputed in backward instead of kept (activation checkpointing).
    public var checkpointedLayers: Set<Int> = []
    /// With a policy, checkpointed blocks keep the outputs of the operators it lists and recompute the rest
    /// (selective op activation checkpointing); without one they recompute everything.
    public var selectiveCheckpointPolicy: SelectiveCheckpointPolicy?
    /// Runs around every block (outside activation checkpointing), as FSDP's per-block gather needs.
    public var blockWrapper: BlockWrapper?
    /// This rank's place in a tensor-parallel group; nil when every matrix is whole.
    public let tensorParallel: TensorParallelShard?
    /// The part of the model this pipeline stage holds; nil when it holds all of it.
    public let pipelineStage: PipelineStageLayout?
    /// The index in `transformer.h` of each block this model holds (all of them unless it is a pipeline stage).
    public let layers: [Int]
    /// Whether a forward with gradients ran sequence-parallel since the replicated parameters' gradients were last
    /// summed over the tensor-parallel group (``sumSequenceParallelGradients(of:)``).
    public internal(set) var sequenceParallelGradientsPending = false
    /// Hooks that see each module's forward (``ModuleForward``), with the handles that remove them.
    private var forwardHooks: [(handle: Int, hook: ForwardHook)] = []
    private var nextHookHandle = 0
    public var blockCount: Int { blocks.count }
    public func blockParameterPrefix(_ block: Int) -> String { "transformer.h.\(layers[block])." }

    private struct Block {
        let attentionNorm: Norm
        let query: Linear
        let key: Linear
        let value: Linear
        let output: Linear
        let ffnNorm: Norm
        let mlp: [Linear]
    }

    /// Builds the model on `device` with all parameters zero (norm weights one); load or initialise them next.
    ///
    /// With `deferAllocation` (Modalities' `use_meta_device`), parameters have their shapes but no memory until an
    /// initializer, a checkpoint load or FSDP gives them values: a model larger than one rank's memory can be
    /// sharded and initialised chunk by chunk.
    public init(
        config: GPT2LLMConfig, sampleKey: String = "input_ids", predictionKey: String = "logits", seed: UInt64 = 0,
        dtype: DType = .float32, device: Device = .cpu, deferAllocation: Bool = false,
        tensorParallel: TensorParallelShard? = nil, pipelineStage: PipelineStageLayout? = nil
    ) throws {
        try config.validate()
        try tensorParallel?.validate(config)
        if let stage = pipelineStage {
            guard stage.layers.lowerBound >= 0, stage.layers.upperBound <= config.layerCount else {
                throw ModelError.invalidConfig("pipeline \(stage) names blocks the model's \(config.layerCount) layers do not have")
            }
            // torchtitan and Modalities refuse it too: the tied matrix would live on two stages.
            guard !config.weightTying || (stage.holdsInput == stage.holdsOutput) else {
                throw ModelError.invalidConfig(
                    "use_weight_tying ties transformer.lm_head to transformer.wte, but pipeline \(stage) holds only one of them: set use_weight_tying: false for pipeline parallelism"
                )
            }
        }
        self.tensorParallel = tensorParallel
        self.pipelineStage = pipelineStage
        if config.attentionImplementation == .daoFlash {
            FileHandle.standardError.write(
                Data(
                    "GPT2LLM: attention_implementation dao_flash runs libtorch's scaled_dot_product_attention (its flash backend where available)\n"
                        .utf8))
        }
        self.config = config
        self.sampleKey = sampleKey
        self.predictionKey = predictionKey
        self.seed = seed
        let store = ParameterStore(dtype: dtype, device: device, deferAllocation: deferAllocation)
        parameters = store
        let d = config.embeddingSize
        // Split matrices hold this rank's rows (column-parallel, embeddings) or columns (row-parallel) only.
        let parts = tensorParallel?.size ?? 1
        let holdsInput = pipelineStage?.holdsInput ?? true
        let holdsOutput = pipelineStage?.holdsOutput ?? true
        tokenEmbedding = holdsInput ? try store.make("transformer.wte.weight", shape: [config.vocabularySize / parts, d]) : nil
        positionEmbedding =
            holdsInput && config.positionEmbedding == .absolute
            ? try store.make("transformer.wpe.weight", shape: [config.sequenceLength / parts, d]) : nil
        let keyValueSize = d / (config.queryHeads / config.keyValueHeads)
        layers = Array(pipelineStage?.layers ?? 0..<config.layerCount)
        blocks = try layers.map { layer in
            let prefix = "transformer.h.\(layer)"
            let attentionNorm = try Norm("\(prefix).attention_norm", size: d, config: config.attentionNorm, in: store)
            let query = try Linear("\(prefix).attn.q_attn", input: d, output: d / parts, bias: config.bias, in: store)
            let key = try Linear("\(prefix).attn.k_attn", input: d, output: keyValueSize / parts, bias: config.bias, in: store)
            let value = try Linear("\(prefix).attn.v_attn", input: d, output: keyValueSize / parts, bias: config.bias, in: store)
            let output = try Linear("\(prefix).attn.c_proj", input: d / parts, output: d, bias: config.bias, in: store)
            let ffnNorm = try Norm("\(prefix).ffn_norm", size: d, config: config.ffnNorm, in: store)
            let mlp: [Linear]
            switch config.activation {
            case .gelu, .geluTanh:
                mlp = [
                    try Linear("\(prefix).mlp.c_fc", input: d, output: config.ffnHidden / parts, bias: config.bias, in: store),
                    try Linear("\(prefix).mlp.c_proj", input: config.ffnHidden / parts, output: d, bias: config.bias, in: store),
                ]
            case .swiglu:
                let hidden = config.swigluHidden
                mlp = [
                    try Linear("\(prefix).mlp.W", input: d, output: hidden / parts, bias: config.bias, in: store),
                    try Linear("\(prefix).mlp.V", input: d, output: hidden / parts, bias: config.bias, in: store),
                    try Linear("\(prefix).mlp.W_2", input: hidden / parts, output: d, bias: config.bias, in: store),
                ]
            }
            return Block(
                attentionNorm: attentionNorm, query: query, key: key, value: value, output: output,
                ffnNorm: ffnNorm, mlp: mlp)
        }
        if !holdsOutput {
            (finalNorm, head) = (nil, nil)
        } else {
            finalNorm = try Norm("transformer.lm_head_norm", size: d, config: config.lmHeadNorm, in: store)
            if config.weightTying, let tokenEmbedding {
                head = tokenEmbedding
                store.alias("transformer.lm_head.weight", to: tokenEmbedding)
            } else {
                head = try store.make("transformer.lm_head.weight", shape: [config.vocabularySize / parts, d])
            }
        }
    }

    /// The same model on `device` (its parameters copied there; `self` when already there), as `model.to(device)`.
    public func moved(to device: Device) throws -> GPT2LLM {
        if parameters.named.allSatisfy({ $0.tensor.device == device }) { return self }
        try parameters.requireAllocated(for: "moving the model to \(device)")
        let moved = try GPT2LLM(
            config: config, sampleKey: sampleKey, predictionKey: predictionKey, seed: seed,
            dtype: parameters.named.first?.tensor.dtype ?? .float32, device: device, tensorParallel: tensorParallel,
            pipelineStage: pipelineStage)
        for (name, tensor) in parameters.named { try moved.parameters.load(name, from: tensor) }
        moved.checkpointedLayers = checkpointedLayers
        moved.selectiveCheckpointPolicy = selectiveCheckpointPolicy
        return moved
    }

    /// `{prediction_key: logits}` for `{sample_key: token ids}`, as Modalities' models are called.
    ///
    /// A pipeline stage without the input layers also takes the previous stage's activations under
    /// ``PipelineStageLayout/activationKey`` (the token ids still give the positions), and one without the output
    /// layers returns its activations under that key instead of logits.
    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        guard let tokens = inputs[sampleKey] else {
            throw ModelError.invalidConfig("the batch has no '\(sampleKey)' (keys: \(inputs.keys.sorted().joined(separator: ", ")))")
        }
        // With loss parallelism the logits stay split over the vocabulary (see ``lossParallelGroup``).
        let gathered = !(tensorParallel?.lossParallel ?? false)
        guard let stage = pipelineStage else {
            return [predictionKey: try run(tokens, hidden: nil, cache: nil, training: training, gathered: gathered)]
        }
        var hidden: Tensor?
        if !stage.holdsInput {
            guard let activations = inputs[PipelineStageLayout.activationKey] else {
                throw ModelError.invalidConfig(
                    "pipeline \(stage) needs the previous stage's activations under '\(PipelineStageLayout.activationKey)'")
            }
            hidden = activations
        }
        let output = try run(tokens, hidden: hidden, cache: nil, training: training, gathered: gathered)
        return [stage.holdsOutput ? predictionKey : PipelineStageLayout.activationKey: output]
    }

    /// The tensor-parallel group whose ranks each hold a part of the vocabulary of ``forward(_:training:)``'s
    /// logits, for a loss that reduces across it; nil when the logits are whole.
    public var lossParallelGroup: (any TensorParallelCommunicator)? {
        tensorParallel.flatMap { $0.lossParallel ? $0.communicator : nil }
    }

    /// Adds a hook that sees every module's forward from now on; returns the handle that removes it.
    @discardableResult
    public func addForwardHook(_ hook: @escaping ForwardHook) -> Int {
        nextHookHandle += 1
        forwardHooks.append((nextHookHandle, hook))
        return nextHookHandle
    }

    public func removeForwardHook(_ handle: Int) { forwardHooks.removeAll { $0.handle == handle } }

    /// `output`, after the hooks have seen module `path` of class `typeName` compute it from `inputs`.
    private func observed(_ path: String, _ typeName: String, _ inputs: [Tensor], _ output: Tensor) throws -> Tensor {
        guard !forwardHooks.isEmpty else { return output }
        let event = ModuleForward(path: path, typeName: typeName, inputs: inputs, outputs: [output])
        for (_, hook) in forwardHooks { try hook(event) }
        return output
    }

    /// Modalities' class name of a norm of `kind`.
    private static func typeName(of kind: GPT2LLMConfig.NormKind) -> String {
        switch kind {
        case .layerNorm: return "LayerNorm"
        case .rmsNorm: return "RMSLayerNorm"
        case .pytorchRMSNorm: return "RMSNorm"
        }
    }

    /// Logits (batch, sequence, vocabulary) for integer token ids (batch, sequence).
    ///
    /// With a `cache`, the tokens continue the sequence the cache holds: their keys and values are appended, and
    /// positions (learned or rotary) start after the cached ones.
    public func callAsFunction(_ tokens: Tensor, cache: KeyValueCache? = nil, training: Bool = false) throws -> Tensor {
        if let pipelineStage, !(pipelineStage.holdsInput && pipelineStage.holdsOutput) {
            throw ModelError.invalidConfig("logits for token ids need the whole model; this one is pipeline \(pipelineStage)")
        }
        return try run(tokens, hidden: nil, cache: cache, training: training, gathered: true)
    }

    /// Logits for `tokens`, or the activations after this stage's blocks when it does not hold the output layers;
    /// `hidden` is the previous stage's output when this one does not hold the input layers. `gathered` false
    /// leaves a tensor-parallel rank its part of the vocabulary.
    private func run(_ tokens: Tensor, hidden: Tensor?, cache: KeyValueCache?, training: Bool, gathered: Bool) throws -> Tensor {
        try parameters.requireAllocated(for: "GPT2LLM's forward")
        let length = tokens.size(1)
        let past = cache?.length ?? 0
        guard past + length <= config.sequenceLength || positionEmbedding == nil else {
            throw ModelError.invalidConfig("input of \(past + length) tokens exceeds sequence_length \(config.sequenceLength)")
        }
        let parallel = tensorParallel.map { TensorParallelForward(shard: $0, length: length, caching: cache != nil) }
        if parallel?.sequenceParallel == true, Autograd.isGradEnabled { sequenceParallelGradientsPending = true }
        var h: Tensor
        if let hidden {
            h = hidden
        } else {
            let embedded = try observed("transformer.wte", "Embedding", [tokens], try embed(tokens, past: past, parallel: parallel))
            h = try observed("transformer.drop", "Dropout", [embedded], try dropout(embedded, training: training))
        }
        // Shared by every layer: positions' rotary tables, and which keys each query may not see (query i, at
        // position past + i, sees keys 0...past + i).
        let rotary = try config.rotaryBaseFrequency.map {
            try Rotary(headSize: config.headSize, baseFrequency: $0, offset: past, length: length, dtype: h.dtype, device: h.device)
        }
        let future = try Tensor.ones([length, past + length], dtype: .bool, device: h.device).triu(past + 1)
        for (layer, block) in blocks.enumerated() {
            let prefix = "transformer.h.\(self.layers[layer])"
            let run: (Tensor, OperatorOutputCache?) throws -> Tensor = { h, kept in
                let config = self.config
                let normed = try self.observed(
                    prefix + ".attention_norm", Self.typeName(of: config.attentionNorm.kind), [h], block.attentionNorm(h))
                let attention = try self.observed(
                    prefix + ".attn", "CausalSelfAttention", [normed],
                    self.attention(
                        block, normed, layer: layer, cache: cache, rotary: rotary, future: future, training: training,
                        parallel: parallel, kept: kept))
                let attended = try h + attention
                let normedAgain = try self.observed(
                    prefix + ".ffn_norm", Self.typeName(of: config.ffnNorm.kind), [attended], block.ffnNorm(attended))
                let mlp = try self.observed(
                    prefix + ".mlp", config.activation == .swiglu ? "SwiGLU" : "TransformerMLP", [normedAgain],
                    self.mlp(block, normedAgain, training: training, parallel: parallel, kept: kept))
                return try self.observed(prefix, "GPT2Block", [h], try attended + mlp)
            }
            let body: (Tensor) throws -> Tensor = { h in
                if self.checkpointedLayers.contains(layer), cache == nil, Autograd.isGradEnabled {
                    return try ActivationCheckpoint.apply(
                        name: "CheckpointedBlock\(layer)", input: h,
                        keeping: self.selectiveCheckpointPolicy, run)
                }
                return try run(h, nil)
            }
            h = try blockWrapper.map { try $0(layer, h, body) } ?? body(h)
        }
        cache?.length = past + length
        guard let finalNorm, let head else { return try observed("", "GPT2LLM", [tokens], h) }
        let normed = try observed("transformer.lm_head_norm", Self.typeName(of: config.lmHeadNorm.kind), [h], finalNorm(h))
        guard let parallel else {
            let logits = try observed("transformer.lm_head", "Linear", [normed], Functional.linearPaddingRows(normed, weight: head))
            return try observed("", "GPT2LLM", [tokens], logits)
        }
        // Column-parallel head: this rank's part of the vocabulary, gathered.
        let local = try observed(
            "transformer.lm_head", "Linear", [normed], Functional.linearPaddingRows(try parallel.enter(normed), weight: head))
        return try observed("", "GPT2LLM", [tokens], gathered ? try TensorParallelRegion.gatherVocabulary(local, parallel.group) : local)
    }

    /// Token embeddings plus learned positions (`past` onwards) for `tokens`. Under tensor parallelism each rank
    /// holds a range of the vocabulary's and the positions' rows: it looks up the ids in its range (zero for the
    /// others), and the partial sums are added over the group.
    private func embed(_ tokens: Tensor, past: Int, parallel: TensorParallelForward?) throws -> Tensor {
        let length = tokens.size(1)
        guard let tokenEmbedding else { throw ModelError.invalidConfig("this pipeline stage holds no embeddings") }
        guard let parallel else {
            let h = try Functional.embedding(tokens, weight: tokenEmbedding)
            return try positionEmbedding.map { try h + $0.narrow(0, start: past, length: length) } ?? h
        }
        func lookup(_ ids: Tensor, in table: Tensor) throws -> Tensor {
            let rows = table.size(0)
            // Integer arithmetic throughout: ids in this rank's range become row indices, the others row 0, masked.
            let local = try ids - Tensor(scalar: Int64(parallel.group.rank * rows)).to(device: ids.device)
            let inside = try local.ge(0).logicalAnd(try local.lt(Double(rows)))
            return try Functional.embedding(try local * inside, weight: table).maskedFill(try inside.logicalNot().unsqueeze(-1), 0)
        }
        var partial = try lookup(tokens, in: tokenEmbedding)
        if let positionEmbedding {
            let positions = try Tensor.arange(length, device: tokens.device) + Tensor(scalar: Int64(past)).to(device: tokens.device)
            partial = try partial + lookup(positions, in: positionEmbedding)
        }
        return try parallel.leave(partial)
    }

    private func dropout(_ x: Tensor, training: Bool) throws -> Tensor {
        training && config.dropout > 0 ? try Functional.dropout(x, p: config.dropout, training: true) : x
    }

    private func attention(
        _ block: Block, _ x: Tensor, layer: Int, cache: KeyValueCache?, rotary: Rotary?, future: Tensor,
        training: Bool, parallel: TensorParallelForward?, kept: OperatorOutputCache?
    ) throws -> Tensor {
        // Under tensor parallelism each rank computes its own heads (all of a query group's kv heads with them), over
        // the whole sequence.
        let projections: [Tensor]
        if let parallel, parallel.overlapsGather(x, kept: kept) {
            projections = try parallel.columnParallel(x, [block.query, block.key, block.value])
        } else {
            let x = try parallel?.enter(x) ?? x
            projections = [try block.query(x, kept: kept), try block.key(x, kept: kept), try block.value(x, kept: kept)]
        }
        let (batch, length) = (projections[0].size(0), projections[0].size(1))
        let headSize = config.headSize
        let past = cache?.length ?? 0
        func heads(_ t: Tensor) throws -> Tensor { try t.view([batch, length, -1, headSize]).transpose(1, 2) }
        var q = try heads(projections[0])
        var k = try heads(projections[1])
        var v = try heads(projections[2])
        if let rotary {
            q = try rotary(q)
            k = try rotary(k)
        }
        if let cache {
            (k, v) = try cache.append(layer: layer, keys: k, values: v)
        }
        let repeats = config.queryHeads / config.keyValueHeads
        func repeated(_ t: Tensor) throws -> Tensor { try t.repeatingHeads(repeats) }
        let y: Tensor
        let p = training ? config.dropout : 0
        switch config.attentionImplementation {
        case .manual:
            let scores = try q.matmul(repeated(k).transpose(-2, -1)) / Double(headSize).squareRoot()
            let weights = try Functional.dropout(scores.maskedFill(future, -Double.infinity).softmax(dim: -1), p: p, training: p > 0)
            y = try weights.matmul(repeated(v))
        case .pytorchFlash, .daoFlash:
            if past == 0 && p == 0 {
                y = try Functional.causalAttention(query: q, key: k, value: v)
            } else if past == 0 {
                y = try Functional.scaledDotProductAttention(query: q, key: repeated(k), value: repeated(v), dropout: p, isCausal: true)
            } else {
                y = try Functional.scaledDotProductAttention(
                    query: q, key: repeated(k), value: repeated(v), mask: future.logicalNot(), dropout: p)
            }
        }
        let output = try rowParallel(block.output, y.transpose(1, 2).reshape([batch, length, -1]), parallel: parallel, kept: kept)
        return try dropout(output, training: training)
    }

    private func mlp(
        _ block: Block, _ x: Tensor, training: Bool, parallel: TensorParallelForward?, kept: OperatorOutputCache?
    ) throws -> Tensor {
        let out: Tensor
        let mlp = block.mlp
        // The input layers' outputs (c_fc; SwiGLU's W and V), the gather overlapped with them under sequence parallelism.
        let inputLayers = config.activation == .swiglu ? Array(mlp[0..<2]) : [mlp[0]]
        let hidden: [Tensor]
        if let parallel, parallel.overlapsGather(x, kept: kept) {
            hidden = try parallel.columnParallel(x, inputLayers)
        } else {
            let x = try parallel?.enter(x) ?? x
            hidden = try inputLayers.map { try $0(x, kept: kept) }
        }
        switch config.activation {
        case .gelu: out = try rowParallel(mlp[1], hidden[0].gelu(), parallel: parallel, kept: kept)
        case .geluTanh: out = try rowParallel(mlp[1], hidden[0].gelu(approximate: .tanh), parallel: parallel, kept: kept)
        case .swiglu:
            out = try rowParallel(mlp[2], hidden[0].silu() * hidden[1], parallel: parallel, kept: kept)
        }
        return try dropout(out, training: training)
    }

    /// A row-parallel layer: this rank's partial product, summed over the group, then the bias once.
    private func rowParallel(_ layer: Linear, _ x: Tensor, parallel: TensorParallelForward?, kept: OperatorOutputCache?) throws -> Tensor {
        guard let parallel else { return try layer(x, kept: kept) }
        let sum = try parallel.leave(try layer.product(x, kept: kept))
        return try layer.bias.map { try sum + $0 } ?? sum
    }
}
