import Foundation
import Models
import Torch

/// One training step measured in parts (forward, backward, clipping + optimizer), the way
/// `Benchmarks/Scripts/pytorch_reference.py` runs the same step in plain PyTorch: AdamW (0.9, 0.95, wd 0.1) on libtorch's fused
/// kernel, clipping at 1.0, gradients set to none, one fixed batch, the loss read once at the end.
public struct ThroughputBenchmark {
    /// The benchmark models of the performance issue (Modalities' conventions).
    public enum Preset: String, CaseIterable, Sendable {
        case cpuSmall = "cpu-small", gpt2_124m = "gpt2-124m", llama1b = "llama-1b"

        public var config: GPT2LLMConfig {
            switch self {
            case .cpuSmall:
                let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
                return GPT2LLMConfig(
                    vocabularySize: 8192, sequenceLength: 256, layerCount: 4, queryHeads: 4, keyValueHeads: 4, embeddingSize: 256,
                    ffnHidden: 1024, bias: true, positionEmbedding: .absolute, attentionImplementation: .pytorchFlash,
                    activation: .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: true)
            case .gpt2_124m:
                let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
                return GPT2LLMConfig(
                    vocabularySize: 50304, sequenceLength: 1024, layerCount: 12, queryHeads: 12, keyValueHeads: 12, embeddingSize: 768,
                    ffnHidden: 3072, bias: true, positionEmbedding: .absolute, attentionImplementation: .pytorchFlash,
                    activation: .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: true)
            case .llama1b:
                let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm, epsilon: 1e-5, bias: false)
                return GPT2LLMConfig(
                    vocabularySize: 32000, sequenceLength: 2048, layerCount: 16, queryHeads: 32, keyValueHeads: 8, embeddingSize: 2048,
                    ffnHidden: 12288, bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000,
                    attentionImplementation: .pytorchFlash, activation: .swiglu, attentionNorm: norm, ffnNorm: norm,
                    lmHeadNorm: norm, weightTying: false)
            }
        }

        public var batchSize: Int {
            switch self {
            case .cpuSmall: return 8
            case .gpt2_124m: return 16
            case .llama1b: return 4
            }
        }
    }

    public struct Result: Sendable {
        public var stepSeconds: Double
        /// The median of the timed steps (nil when they ran as one CUDA-graph replay loop): on a shared machine it
        /// is steadier than the mean, since a neighbour's burst stretches a few steps, not all.
        public var medianStepSeconds: Double?
        public var forwardSeconds: Double
        public var backwardSeconds: Double
        public var optimizerSeconds: Double
        public var tokensPerSecond: Double
        /// FLOPs per token by the stated formula: 6·(non-embedding parameters + LM head) + 6·L·T·d.
        public var flopsPerToken: Double
        public var peakBytes: Int
        public var finalLoss: Double
        /// Operators of the timed steps by self time (with `profile` on).
        public var operators: [OperatorProfile.Entry] = []
    }

    public var preset: Preset
    public var bf16: Bool
    public var steps: Int
    public var warmup: Int
    /// Time every libtorch operator of the timed steps (``OperatorProfile``).
    public var profile = false
    /// The training loss's fused cross entropy (``Functional/crossEntropyReusingLogits(_:target:ignoreIndex:)``);
    /// false runs PyTorch's `cross_entropy` for comparison.
    public var fusedCrossEntropy = true
    /// Where the model trains; a GPU needs CUDA loaded. The model is initialised on the CPU and copied there.
    public var device: Device = .cpu
    /// On a GPU: capture one whole step (forward, backward, clipping, AdamW) in a CUDA graph after the warm-up and
    /// time its replays. Same work and losses as eager; what it saves is the launch overhead.
    public var cudaGraph = false

    public init(preset: Preset, bf16: Bool = false, steps: Int = 20, warmup: Int = 3) {
        self.preset = preset
        self.bf16 = bf16
        self.steps = steps
        self.warmup = warmup
    }

    public func run() throws -> Result {
        guard !cudaGraph || device.kind == .cuda else { throw TrainingError.invalidConfig("CUDA graphs need a CUDA device, not \(device)") }
        let config = preset.config
        let model = try makeModel(config)
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 3e-4, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1, excludedGroups: [],
            decoupledWeightDecay: true)
        // A captured step reads its learning rate from the device, as model/compiled's does (``CUDAGraphStep``).
        if cudaGraph { try optimizer.keepLearningRateOnDevice() }
        let clipper = try GradientClipper(model: model, normType: .P2_NORM, maxNorm: 1)
        let (batch, length, vocabulary) = (preset.batchSize, config.sequenceLength, config.vocabularySize)
        let tokens = try Tensor.randint(0, vocabulary, [batch, length + 1], generator: Generator(seed: 1)).to(device: device)
        let inputs = try tokens.narrow(1, start: 0, length: length).contiguous()
        let targets = try tokens.narrow(1, start: 1, length: length).contiguous().reshape([-1])
        if device.kind != .cpu { try Memory.resetPeak(on: device) }  // on the CPU the peak includes building the model

        func forward() throws -> Tensor {
            let logits =
                bf16
                ? try Autocast.scope(device: device, dtype: .bfloat16) { try model(inputs, training: true) }
                : try model(inputs, training: true)
            let flat = try logits.to(dtype: .float32).reshape([-1, vocabulary])
            return fusedCrossEntropy
                ? try Functional.crossEntropyReusingLogits(flat, target: targets) : try Functional.crossEntropy(flat, target: targets)
        }
        func update() throws {
            try clipper.clipGradientsOnDevice()
            try optimizer.step()
        }

        var times = (forward: 0.0, backward: 0.0, optimizer: 0.0)
        var replaySeconds: Double?  // whole steps replayed from a CUDA graph: no breakdown
        var stepDurations: [Double] = []
        var loss: Tensor?
        func now() throws -> UInt64 { try Accelerator.uptimeNanoseconds(after: device) }
        func seconds(_ start: UInt64) throws -> Double { Double(try now() - start) / 1e9 }
        for step in 0..<(warmup + steps) {
            if cudaGraph && step == warmup { break }
            let measured = step >= warmup
            if profile && step == warmup { try OperatorProfile.start() }
            let stepStart = try now()
            var start = stepStart
            let value = try forward()
            if measured { times.forward += try seconds(start) }
            start = try now()
            try value.backward()
            if measured { times.backward += try seconds(start) }
            start = try now()
            try update()
            try optimizer.zeroGrad()
            if measured {
                times.optimizer += try seconds(start)
                stepDurations.append(try seconds(stepStart))
            }
            loss = value
        }
        if cudaGraph {
            // The step as PyTorch's whole-network capture does it: gradients start as none, backward allocates them
            // from the graph's pool, and every replay rewrites them in place.
            try optimizer.zeroGrad()
            let graph = try CUDAGraph()
            try graph.capture(on: device) {
                let value = try Autocast.withoutCache { try forward() }
                try value.backward()
                try update()
                loss = value
            }
            let start = try now()
            for _ in 0..<steps { try graph.replay() }
            replaySeconds = try seconds(start)
        }
        let finalLoss = try loss!.item(Double.self)
        let operators = profile ? try OperatorProfile.stop() : []
        let step = (replaySeconds ?? times.forward + times.backward + times.optimizer) / Double(steps)
        let embedding =
            config.vocabularySize * config.embeddingSize
            + (config.positionEmbedding == .absolute ? config.sequenceLength * config.embeddingSize : 0)
        let total = model.parameterCount
        let nonEmbedding = total - embedding + (config.weightTying ? 0 : -config.vocabularySize * config.embeddingSize)
        let flopsPerToken =
            6 * Double(nonEmbedding + config.vocabularySize * config.embeddingSize)
            + 6 * Double(config.layerCount * config.sequenceLength * config.embeddingSize)
        let peakBytes = try Memory.peakBytes(on: device)
        let sorted = stepDurations.sorted()
        let median =
            sorted.isEmpty || replaySeconds != nil
            ? nil
            : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return Result(
            stepSeconds: step, medianStepSeconds: median, forwardSeconds: times.forward / Double(steps),
            backwardSeconds: times.backward / Double(steps),
            optimizerSeconds: times.optimizer / Double(steps), tokensPerSecond: Double(batch * length) / step,
            flopsPerToken: flopsPerToken, peakBytes: peakBytes, finalLoss: finalLoss, operators: operators)
    }

    /// The preset's model on ``device``, initialised on the CPU from seed 0 (the same weights on every device).
    private func makeModel(_ config: GPT2LLMConfig) throws -> GPT2LLM {
        let host = try GPT2LLM(config: config)
        try ComposedInitialization(weightInitType: .plain, mean: 0, std: .value(0.02), layerCount: nil).initialize(host.parameters, seed: 0)
        return try host.moved(to: device)
    }
}
