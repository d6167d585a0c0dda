import Models
import Testing
import Torch

/// Recomputing blocks in backward changes memory, not results.
@Suite(.serialized) struct ActivationCheckpointTests {
    func model(dropout: Double, bias: Bool = true) throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
        let model = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 128, sequenceLength: 64, layerCount: 4, queryHeads: 4, keyValueHeads: 2, embeddingSize: 64, ffnHidden: 256,
                dropout: dropout, bias: bias, positionEmbedding: .none, rotaryBaseFrequency: 10_000, activation: .swiglu,
                attentionNorm: norm,
                ffnNorm: norm, lmHeadNorm: norm, weightTying: false), seed: 3)
        try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 4).initialize(model.parameters, seed: 3)
        return model
    }

    /// Loss, gradients by name and the peak bytes the allocator held above the starting point.
    func step(
        _ model: GPT2LLM, layers: Set<Int>, keeping policy: SelectiveCheckpointPolicy? = nil
    ) throws
        -> (loss: Float, grads: [String: [Float]], peak: Int)
    {
        model.checkpointedLayers = layers
        model.selectiveCheckpointPolicy = policy
        let tokens = try Tensor.randint(0, 128, [8, 65], generator: Generator(seed: 11))
        try Generator.defaultCPU.setSeed(5)
        let before = try Memory.cpuStatistics().currentBytes
        Memory.resetPeak()
        let logits = try model(tokens.narrow(1, start: 0, length: 64), training: true)
        let loss = try Functional.crossEntropy(logits.reshape([-1, 128]), target: tokens.narrow(1, start: 1, length: 64).reshape([-1]))
        try loss.backward()
        let peak = try Memory.cpuStatistics().peakBytes - before
        var grads: [String: [Float]] = [:]
        for (name, tensor) in model.parameters.named {
            grads[name] = try tensor.grad!.toArray(Float.self)
            try tensor.setGrad(nil)
        }
        return (try loss.item(Float.self), grads, peak)
    }

    @Test(arguments: [0.0, 0.1])
    func sameLossAndGradientsWithLessMemory(dropout: Double) throws {
        let model = try model(dropout: dropout)
        let plain = try step(model, layers: [])
        let full = try step(model, layers: [0, 1, 2, 3])
        let everyOther = try step(model, layers: [0, 2])
        #expect(full.loss == plain.loss && everyOther.loss == plain.loss)
        for (name, expected) in plain.grads {
            for other in [full.grads[name]!, everyOther.grads[name]!] {
                let difference = zip(expected, other).map { Swift.abs($0 - $1) }.max()!
                #expect(difference <= 1e-6, "\(name) differs by \(difference) (dropout \(dropout))")
            }
        }
        #expect(
            full.peak < everyOther.peak && everyOther.peak < plain.peak,
            "peaks: full \(full.peak), every other \(everyOther.peak), none \(plain.peak)")
    }

    /// Selective op checkpointing (Modalities' `ops.aten.mm.default`) keeps every other matrix product of a block
    /// and recomputes the rest: the same loss and, within 1e-6, the same gradients (the kept products' backward is
    /// mm's own formula, evaluated outside libtorch's linear, so float32 sums may round differently), with a peak
    /// between recomputing everything and keeping everything. The layers have no bias: with one, libtorch's linear
    /// runs addmm, which the policy does not keep, as in PyTorch.
    @Test(arguments: [0.0, 0.1])
    func selectiveOpCheckpointingKeepsMatrixProducts(dropout: Double) throws {
        let model = try model(dropout: dropout, bias: false)
        let everyBlock: Set<Int> = [0, 1, 2, 3]
        let plain = try step(model, layers: [])
        let full = try step(model, layers: everyBlock)
        let selective = try step(model, layers: everyBlock, keeping: SelectiveCheckpointPolicy(keys: ["ops.aten.mm.default"]))
        #expect(selective.loss == plain.loss)
        for (name, expected) in plain.grads {
            let difference = zip(expected, selective.grads[name]!).map { Swift.abs($0 - $1) }.max()!
            #expect(difference <= 1e-6, "\(name) differs by \(difference) (dropout \(dropout))")
        }
        #expect(
            full.peak < selective.peak && selective.peak < plain.peak,
            "peaks: full \(full.peak), selective \(selective.peak), none \(plain.peak)")
    }
}
