import Foundation
import Models
import Torch

/// One training step measured in parts (forward, backward, clipping + optimizer), the way
/// `bench/pytorch_reference.py` runs the same step in plain PyTorch: AdamW (0.9, 0.95, wd 0.1) on libtorch's fused
/// kernel, clipping at 1.0, gradients set to none, one fixed batch, the loss read once at the end.
public struct ThroughputBenchmark {
    /// The benchmark models of the performance issue (Modalities' conventions).
    public enum Preset: String, CaseIterable, Sendable {
        case cpuSmall = "cpu-small", gpt2_124m = "gpt2-124m", llama1b = "llama-1b"

        public var config: GPT2LLMConfig {
            switch self {
            case .cpuSmall:
                let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
                return GPT2LLMConfig(vocabularySize: 8192, sequenceLength: 256, layerCount: 4, queryHeads: 4, keyValueHeads: 4, embeddingSize: 256,
                                     ffnHidden: 1024, bias: true, positionEmbedding: .absolute, attentionImplementation: .pytorchFlash,
                                     activation: .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: true)
            case .gpt2_124m:
                let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
                return GPT2LLMConfig(vocabularySize: 50304, sequenceLength: 1024, layerCount: 12, queryHeads: 12, keyValueHeads: 12, embeddingSize: 768,
                                     ffnHidden: 3072, bias: true, positionEmbedding: .absolute, attentionImplementation: .pytorchFlash,
                                     activation: .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: true)
            case .llama1b:
                let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm, epsilon: 1e-5, bias: false)
                return GPT2LLMConfig(vocabularySize: 32000, sequenceLength: 2048, layerCount: 16, queryHeads: 32, keyValueHeads: 8, embeddingSize: 2048,
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

    public init(preset: Preset, bf16: Bool = false, steps: Int = 20, warmup: Int = 3) {
        self.preset = preset
        self.bf16 = bf16
        self.steps = steps
        self.warmup = warmup
    }

    public func run() throws -> Result {
        let config = preset.config
        let model = try GPT2LLM(config: config)
        try ComposedInitialization(weightInitType: .plain, mean: 0, std: .value(0.02), layerCount: nil).initialize(model.parameters, seed: 0)
        let optimizer = try AdamOptimizer(model: model, learningRate: 3e-4, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1, excludedGroups: [],
                                          decoupledWeightDecay: true)
        let clipper = try GradientClipper(model: model, normType: .P2_NORM, maxNorm: 1)
        let (batch, length, vocabulary) = (preset.batchSize, config.sequenceLength, config.vocabularySize)
        let tokens = try Tensor.randint(0, vocabulary, [batch, length + 1], generator: Generator(seed: 1))
        let inputs = try tokens.narrow(1, start: 0, length: length).contiguous()
        let targets = try tokens.narrow(1, start: 1, length: length).contiguous().reshape([-1])
        var times = (forward: 0.0, backward: 0.0, optimizer: 0.0)
        var loss: Tensor?
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        func seconds(_ start: UInt64) -> Double { Double(now() - start) / 1e9 }
        for step in 0..<(warmup + steps) {
            let measured = step >= warmup
            if profile && step == warmup { try OperatorProfile.start() }
            var start = now()
            let logits = bf16 ? try Autocast.scope(dtype: .bfloat16) { try model(inputs, training: true) } : try model(inputs, training: true)
            let flat = try logits.to(dtype: .float32).reshape([-1, vocabulary])
            let value = fusedCrossEntropy ? try Functional.crossEntropyReusingLogits(flat, target: targets)
                : try Functional.crossEntropy(flat, target: targets)
            if measured { times.forward += seconds(start) }
            start = now()
            try value.backward()
            if measured { times.backward += seconds(start) }
            start = now()
            try clipper.clipGradients()
            try optimizer.step()
            try optimizer.zeroGrad()
            if measured { times.optimizer += seconds(start) }
            loss = value
        }
        let finalLoss = try loss!.item(Double.self)
        let operators = profile ? try OperatorProfile.stop() : []
        let step = (times.forward + times.backward + times.optimizer) / Double(steps)
        let embedding = config.vocabularySize * config.embeddingSize + (config.positionEmbedding == .absolute ? config.sequenceLength * config.embeddingSize : 0)
        let total = model.parameterCount
        let nonEmbedding = total - embedding + (config.weightTying ? 0 : -config.vocabularySize * config.embeddingSize)
        let flopsPerToken = 6 * Double(nonEmbedding + config.vocabularySize * config.embeddingSize)
            + 6 * Double(config.layerCount * config.sequenceLength * config.embeddingSize)
        return Result(stepSeconds: step, forwardSeconds: times.forward / Double(steps), backwardSeconds: times.backward / Double(steps),
                      optimizerSeconds: times.optimizer / Double(steps), tokensPerSecond: Double(batch * length) / step,
                      flopsPerToken: flopsPerToken, peakBytes: (try? Memory.cpuStatistics().peakBytes) ?? -1, finalLoss: finalLoss,
                      operators: operators)
    }
}
