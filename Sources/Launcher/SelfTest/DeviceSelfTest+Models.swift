import Models
import Torch
import Training

/// GPT2LLM in both of Modalities' forms, and a few training steps, on the device against the CPU.
extension DeviceSelfTest {
    var modelChecks: [Check] {
        [
            Check(name: "GPT2LLM GPT-2 form forward and backward (learned positions, LayerNorm, GELU, manual attention)") { test in
                try test.compareWithReference(tolerance: 5e-4) { make in
                    try Self.forwardAndBackward(Self.gpt2Form, make: make)
                }
            },
            Check(name: "GPT2LLM Llama form forward and backward (RoPE, RMSNorm, SwiGLU, grouped-query SDPA)") { test in
                try test.compareWithReference(tolerance: 5e-4) { make in
                    try Self.forwardAndBackward(Self.llamaForm, make: make)
                }
            },
            Check(name: "GPT2LLM training: 6 AdamW steps with gradient clipping") { test in
                var losses: [[Double]] = []
                let detail = try test.compareWithReference(tolerance: 1e-3) { make in
                    let curve = try Self.train(Self.llamaForm, make: make, steps: 6)
                    losses.append(try curve.toArray(Double.self))
                    return [curve]
                }
                guard let deviceLosses = losses.first, let last = deviceLosses.last, last < deviceLosses[0] * 0.9 else {
                    throw Mismatch(description: "the loss did not fall: \(losses.first ?? [])")
                }
                return "loss \(Self.formatted(deviceLosses[0])) -> \(Self.formatted(last)); \(detail)"
            },
        ]
    }

    static let gpt2Form: GPT2LLMConfig = {
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
        return GPT2LLMConfig(
            vocabularySize: 97, sequenceLength: 24, layerCount: 2, queryHeads: 4, keyValueHeads: 4, embeddingSize: 32,
            ffnHidden: 128, bias: true, positionEmbedding: .absolute, attentionImplementation: .manual, activation: .gelu,
            attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: true)
    }()

    static let llamaForm: GPT2LLMConfig = {
        let norm = GPT2LLMConfig.Norm(kind: .rmsNorm, epsilon: 1e-5, bias: false)
        return GPT2LLMConfig(
            vocabularySize: 97, sequenceLength: 24, layerCount: 2, queryHeads: 4, keyValueHeads: 2, embeddingSize: 32,
            ffnHidden: 96, bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000,
            attentionImplementation: .pytorchFlash, activation: .swiglu, attentionNorm: norm, ffnNorm: norm,
            lmHeadNorm: norm, weightTying: false, swigluHiddenMultiple: 16)
    }()

    /// A model on the maker's device and float type whose parameters are drawn from the maker (norm weights near 1).
    static func model(_ config: GPT2LLMConfig, make: InputMaker) throws -> GPT2LLM {
        let model = try GPT2LLM(config: config, dtype: make.floatType, device: make.device)
        for (name, tensor) in model.parameters.named {
            let isNormWeight = name.hasSuffix("norm.weight")
            let values = isNormWeight ? try make.normal(tensor.shape, scale: 0.1) + 1 : try make.normal(tensor.shape, scale: 0.08)
            try model.parameters.load(name, from: values)
        }
        return model
    }

    /// Logits, loss and all parameters' gradients for one batch, the gradients as one vector: some are zero in exact
    /// arithmetic (a key projection's bias does not change softmax), so they are compared relative to the largest.
    static func forwardAndBackward(_ config: GPT2LLMConfig, make: InputMaker) throws -> [Tensor] {
        let model = try model(config, make: make)
        let tokens = try make.indices([3, config.sequenceLength + 1], below: config.vocabularySize)
        let logits = try model(tokens.narrow(1, start: 0, length: config.sequenceLength), training: true)
        let loss = try Functional.crossEntropy(
            logits.reshape([-1, config.vocabularySize]),
            target: tokens.narrow(1, start: 1, length: config.sequenceLength).reshape([-1]))
        try loss.backward()
        return [logits, loss, try Tensor.cat(model.parameters.named.map { try $0.tensor.grad!.reshape([-1]) })]
    }

    /// The losses of `steps` AdamW steps (with norm clipping at 1) on one fixed batch, as a tensor on the device.
    static func train(_ config: GPT2LLMConfig, make: InputMaker, steps: Int) throws -> Tensor {
        let model = try model(config, make: make)
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 3e-3, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1,
            excludedGroups: [], decoupledWeightDecay: true)
        let clipper = try GradientClipper(model: model, normType: .P2_NORM, maxNorm: 1)
        let tokens = try make.indices([4, config.sequenceLength + 1], below: config.vocabularySize)
        let inputs = try tokens.narrow(1, start: 0, length: config.sequenceLength)
        let targets = try tokens.narrow(1, start: 1, length: config.sequenceLength).reshape([-1])
        var losses: [Tensor] = []
        for _ in 0..<steps {
            let loss = try Functional.crossEntropy(model(inputs, training: true).reshape([-1, config.vocabularySize]), target: targets)
            try loss.backward()
            try clipper.clipGradients()
            try optimizer.step()
            try optimizer.zeroGrad()
            losses.append(try loss.detach())
        }
        return try Tensor.stack(losses)
    }
}
