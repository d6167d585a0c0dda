import ArgumentParser
import Distributed
import Foundation
import Models
import Parallelism
import Torch
import Training

/// `modalities sharding_check`: what one rank holds for a model under sharded or replicated data parallelism,
/// measured by the CPU allocator.
struct ShardingCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sharding_check",
        abstract:
            "Run under `launch`: train a small GPT-2 model two steps with FSDP, DDP or tensor parallelism and print each rank's model-state bytes.",
        discussion: """
            The bytes are the CPU allocator's count just before the second optimizer step (parameters, gradients and \
            Adam's moments, plus the step's small tensors) minus its count before the model was built. Under FSDP they \
            are about 1/N of DDP's, plus one gathered block. The set-up peak is the most the allocator held while the \
            model was built, wrapped and initialised: the whole model, unless --meta defers allocation \
            (use_meta_device) so that FSDP only ever allocates chunks and one parameter's scratch. Under tensor \
            parallelism (tp, every rank one slice of the split layers, all ranks the same batch) the last loss is \
            printed beside the one-rank model's on the same batch, as "reference loss".
            """)

    enum Engine: String, ExpressibleByArgument, CaseIterable { case fsdp, ddp, tp }

    @Option(help: "fsdp (sharded), ddp (replicated) or tp (tensor parallel).") var engine: Engine = .fsdp
    @Option(help: "Transformer blocks.") var layers = 4
    @Option(help: "Embedding width.") var width = 128
    @Option(help: "Vocabulary size.") var vocabulary = 4096
    @Flag(help: "Build the model without memory (use_meta_device) and initialise it after wrapping.") var meta = false

    func run() throws {
        guard let group = try ProcessGroup.fromEnvironment(ProcessEnvironment.variables) else {
            throw ValidationError("run under `modalities launch` with 2 or more ranks")
        }
        var baseline = try Memory.cpuStatistics().currentBytes
        Memory.resetPeak()
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
        let network = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: vocabulary, sequenceLength: 32, layerCount: layers, queryHeads: 4, keyValueHeads: 4, embeddingSize: width,
                ffnHidden: 4 * width, bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: norm, ffnNorm: norm,
                lmHeadNorm: norm, weightTying: false), seed: 1, deferAllocation: meta)
        let initializer = try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: layers)
        // As configs order it: without --meta the whole model is initialised, then wrapped; with it, wrapped first.
        if !meta { try initializer.initialize(network.parameters, seed: 1) }
        let model: any Model
        var unitBytes = 0
        var reference: GPT2LLM?
        switch engine {
        case .fsdp:
            let sharded = try FullyShardedModel(wrapping: network, shardGroup: group)
            if meta { try sharded.initialize(with: initializer, seed: 1) }
            unitBytes = sharded.largestUnitBytes
            model = sharded
        case .ddp:
            model = try DataParallelModel(wrapping: network, group: group)
            if meta { try initializer.initialize(network.parameters, seed: 1) }
        case .tp:
            guard !meta else { throw ValidationError("--meta is for fsdp and ddp") }
            // Each rank keeps its slices of the whole model; the whole one trains afterwards as the reference. It stays
            // allocated meanwhile, so the counts start after it.
            baseline = try Memory.cpuStatistics().currentBytes
            Memory.resetPeak()
            let shard = TensorParallelShard(communicator: ProcessGroupCommunicator(group: group))
            reference = network
            model = try network.splitForTensorParallelism(shard)
        }
        let setupPeak = try Memory.cpuStatistics().peakBytes - baseline
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 1e-3, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1,
            excludedGroups: [], decoupledWeightDecay: true)
        // Data-parallel ranks see different batches; the ranks of a tensor-parallel group the same one.
        let tokens = try Tensor.randint(0, vocabulary, [2, 32], generator: Generator(seed: UInt64(10 + (engine == .tp ? 0 : group.rank))))
        var stateBytes = 0
        var lossValue = 0.0
        for step in 0..<2 {
            // The logits (1 MB here, whole on every rank) go out of scope before the count, which is model state only:
            // parameters, gradients and the optimizer's moments.
            let loss = try {
                let logits = try model.forward(["input_ids": tokens], training: true)["logits"]!
                return try Functional.crossEntropy(logits.reshape([-1, vocabulary]), target: tokens.reshape([-1]))
            }()
            try loss.backward()
            try GradientSynchronization.finish(model)
            if step == 1 { stateBytes = try Memory.cpuStatistics().currentBytes - baseline }
            lossValue = try loss.item(Double.self)
            try optimizer.step()
            try optimizer.zeroGrad()
        }
        let total = model.parameterCount * 4
        var line =
            "rank \(group.rank) of \(group.size): engine \(engine.rawValue), model \(total) parameter bytes, state bytes \(stateBytes), largest unit bytes \(unitBytes), set-up peak bytes \(setupPeak), last loss \(lossValue)"
        if let reference {
            // The whole model's bytes above; what this rank holds of them here.
            line += ", held \(model.parameters.named.reduce(0) { $0 + $1.tensor.count } * 4) parameter bytes"
            line += ", reference loss \(try Self.lastLoss(training: reference, on: tokens, steps: 2))"
        }
        print(line)
    }

    /// The loss of the last of `steps` AdamW steps of `model` alone on `tokens`.
    static func lastLoss(training model: GPT2LLM, on tokens: Tensor, steps: Int) throws -> Double {
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 1e-3, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1,
            excludedGroups: [], decoupledWeightDecay: true)
        var lossValue = 0.0
        for _ in 0..<steps {
            let logits = try model.forward(["input_ids": tokens], training: true)["logits"]!
            let loss = try Functional.crossEntropy(logits.reshape([-1, model.config.vocabularySize]), target: tokens.reshape([-1]))
            try loss.backward()
            lossValue = try loss.item(Double.self)
            try optimizer.step()
            try optimizer.zeroGrad()
        }
        return lossValue
    }
}
