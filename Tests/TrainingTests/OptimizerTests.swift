import Models
import Testing
import Torch
import Training

@Suite struct OptimizerTests {
    func model() throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
        let model = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 32, sequenceLength: 8, layerCount: 1, queryHeads: 2, keyValueHeads: 2, embeddingSize: 8, ffnHidden: 32,
                bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm,
                weightTying: false))
        try ComposedInitialization(weightInitType: .plain, std: .value(0.5)).initialize(model.parameters, seed: 1)
        return model
    }

    @Test func excludedGroupsGetNoWeightDecay() throws {
        let model = try model()
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 0.1, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.5,
            excludedGroups: ["embedding", "layernorm"], decoupledWeightDecay: true)
        #expect(optimizer.groups.map(\.name) == ["with_weight_decay", "without_weight_decay"])
        let excludedNames = Set([
            "transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attention_norm.weight",
            "transformer.h.0.attention_norm.bias", "transformer.h.0.ffn_norm.weight", "transformer.h.0.ffn_norm.bias",
            "transformer.lm_head_norm.weight", "transformer.lm_head_norm.bias",
        ])
        #expect(optimizer.groups[1].parameters.count == excludedNames.count)
        // With zero gradients AdamW only decays: decayed weights shrink by (1 - lr · wd), excluded ones stay.
        let before = try model.parameters.named.map { ($0.name, try $0.tensor.detach().clone()) }
        for (_, tensor) in model.parameters.named { try tensor.setGrad(tensor.detach().zerosLike()) }
        try optimizer.step()
        for ((name, old), (_, new)) in zip(before, model.parameters.named) {
            let factor = excludedNames.contains(name) ? 1.0 : 1 - 0.1 * 0.5
            #expect(try new.detach().allclose(old * factor, rtol: 1e-6, atol: 1e-7), "\(name)")
        }
        #expect(throws: TrainingError.self) {
            try AdamOptimizer(
                model: model, learningRate: 0.1, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1,
                excludedGroups: ["biases"], decoupledWeightDecay: true)
        }
    }

    @Test func trainingStepsLowerTheLossAndTheSchedulerSetsTheRate() throws {
        let model = try model()
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 0.05, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.01,
            excludedGroups: [], decoupledWeightDecay: false)
        let scheduler = LearningRateScheduler(optimizer: optimizer, schedule: .linear(startFactor: 0.5, endFactor: 1, totalIters: 4))
        let tokens = try Tensor.randint(0, 32, [2, 9], generator: Generator(seed: 2))
        func loss() throws -> Tensor {
            try Functional.crossEntropy(
                model(tokens.narrow(1, start: 0, length: 8)).reshape([-1, 32]),
                target: tokens.narrow(1, start: 1, length: 8).reshape([-1]))
        }
        let first = try loss().item(Double.self)
        var rates: [Double] = []
        for _ in 0..<20 {
            rates.append(optimizer.learningRate)
            try loss().backward()
            try optimizer.step()
            try optimizer.zeroGrad()
            scheduler.step()
        }
        #expect(try loss().item(Double.self) < first * 0.7)
        #expect(rates.prefix(5).map { ($0 * 1e6).rounded() / 1e6 } == [0.025, 0.03125, 0.0375, 0.04375, 0.05])
    }

    /// `onecycle_lr` with `cycle_momentum` drives Adam's beta1 as PyTorch's scheduler drives `betas[0]`: set before the
    /// first step (to max_momentum), moved at every step, and set again when a checkpoint's step count is restored.
    @Test func aOneCycleSchedulerCyclesAdamsBeta1AndRestoresIt() throws {
        let optimizer = try AdamOptimizer(
            model: try model(), learningRate: 0.1, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0,
            excludedGroups: [], decoupledWeightDecay: true)
        let schedule = LearningRateSchedule.oneCycle(
            maxLR: 0.6, totalSteps: 40, pctStart: 0.3, cosine: true, divFactor: 10, finalDivFactor: 100,
            momentum: MomentumCycle(base: 0.85, max: 0.95))
        let scheduler = LearningRateScheduler(optimizer: optimizer, schedule: schedule)
        #expect(optimizer.beta1 == 0.95 && optimizer.beta2 == 0.95)
        let expected = try #require(LearningRateScheduleTests.expectedBeta1("onecycle_lr_cos_momentum"))
        for step in 1..<12 {
            scheduler.step()
            #expect(Swift.abs(optimizer.beta1 - expected[step]) <= 1e-12, "step \(step)")
        }
        let resumed = LearningRateScheduler(
            optimizer: try AdamOptimizer(
                model: try model(), learningRate: 0.1, betas: (0.9, 0.95), eps: 1e-8,
                weightDecay: 0, excludedGroups: [], decoupledWeightDecay: true),
            schedule: schedule)
        resumed.restore(stepsTaken: 11)
        #expect(resumed.optimizer.momentum == optimizer.beta1 && resumed.optimizer.learningRate == optimizer.learningRate)
    }
}

/// AdamW reading its learning rate from a device tensor (what a captured CUDA-graph step needs) steps as with the
/// rate passed by value.
@Suite struct LearningRateOnDeviceTests {
    @Test func theTensorRateStepsAsTheValueRate() throws {
        func trained(onDevice: Bool) throws -> [Float] {
            let model = try OptimizerTests().model()
            let optimizer = try AdamOptimizer(
                model: model, learningRate: 1e-3, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1, excludedGroups: [],
                decoupledWeightDecay: true)
            if onDevice { try optimizer.keepLearningRateOnDevice() }
            let tokens = try Tensor.randint(0, 32, [2, 9], generator: Generator(seed: 4))
            // A schedule of rates that float32 holds exactly (the tensor's type), written into the tensor before each
            // step: both paths then hand the kernel the same double and compute the same arithmetic in the same order.
            for rate in [0x1p-10, 0x1p-9, 0x3p-10] {
                optimizer.learningRate = rate
                try optimizer.writeLearningRate()
                let logits = try model(tokens.narrow(1, start: 0, length: 8).contiguous(), training: true)
                let targets = try tokens.narrow(1, start: 1, length: 8).contiguous().reshape([-1])
                try Functional.crossEntropy(logits.reshape([-1, 32]), target: targets).backward()
                try optimizer.step()
                try optimizer.zeroGrad()
            }
            return try model.parameters.named.flatMap { try $0.tensor.toArray(Float.self) }
        }
        let byValue = try trained(onDevice: false)
        let byTensor = try trained(onDevice: true)
        #expect(byTensor == byValue)
        #expect(byValue != (try OptimizerTests().model().parameters.named.flatMap { try $0.tensor.toArray(Float.self) }))
    }
}
