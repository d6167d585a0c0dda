import Foundation
import Testing
import Torch

@testable import Models

@Suite struct InitializationTests {
    func smallGPT(layers: Int = 4, tied: Bool = false) throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
        return try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 256, sequenceLength: 32, layerCount: layers, queryHeads: 4, keyValueHeads: 2, embeddingSize: 64,
                ffnHidden: 256, bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: norm, ffnNorm: norm,
                lmHeadNorm: norm, weightTying: tied))
    }

    func standardDeviation(_ tensor: Tensor) throws -> Double { try tensor.detach().variance(correction: 0).sqrt().item(Double.self) }

    @Test func scaledEmbedFollowsModalitiesFormulas() throws {
        let model = try smallGPT()
        let initializer = try ComposedInitialization(weightInitType: .scaledEmbed, std: .value(0.02), layerCount: 4)
        try initializer.initialize(model.parameters, seed: 42)
        let p = model.parameters.tensors
        #expect(Swift.abs(try standardDeviation(p["transformer.h.0.attn.q_attn.weight"]!) - 0.02) < 0.002)
        #expect(Swift.abs(try standardDeviation(p["transformer.h.1.attn.c_proj.weight"]!) - 0.02 / 8.0.squareRoot()) < 0.001)
        #expect(Swift.abs(try standardDeviation(p["transformer.h.2.mlp.c_proj.weight"]!) - 0.02 / 8.0.squareRoot()) < 0.001)
        #expect(Swift.abs(try standardDeviation(p["transformer.wte.weight"]!) - 0.4.squareRoot()) < 0.02)
        #expect(try p["transformer.h.0.attn.q_attn.bias"]!.abs().max().item(Double.self) == 0)
        #expect(try p["transformer.h.0.attention_norm.weight"]!.eq(1).all().item(Bool.self))
        #expect(throws: ModelError.self) { try ComposedInitialization(weightInitType: .scaled, std: .value(0.02)) }
        #expect(try ComposedInitialization(weightInitType: .plain, std: .auto(hiddenSize: 10)).std.resolved == 0.2)
    }

    @Test func sameSeedSameWeights() throws {
        let first = try smallGPT()
        let second = try smallGPT()
        let initializer = try ComposedInitialization(weightInitType: .plain, std: .value(0.02))
        try initializer.initialize(first.parameters, seed: 7)
        try initializer.initialize(second.parameters, seed: 7)
        for ((name, a), (_, b)) in zip(first.parameters.named, second.parameters.named) {
            #expect(try a.equal(b), "\(name)")
        }
    }

    @Test func freshModelLossIsNearLogVocabularyAndOneBatchOverfits() throws {
        let model = try smallGPT(layers: 2, tied: true)
        try ComposedInitialization(weightInitType: .scaled, std: .value(0.02), layerCount: 2).initialize(model.parameters, seed: 1)
        let tokens = try Tensor.randint(0, 256, [4, 17], generator: Generator(seed: 3))
        let inputs = try tokens.narrow(1, start: 0, length: 16)
        let targets = try tokens.narrow(1, start: 1, length: 16).reshape([-1])
        func loss() throws -> Tensor { try Functional.crossEntropy(model(inputs).reshape([-1, 256]), target: targets) }
        let first = try loss().item(Double.self)
        #expect(Swift.abs(first - Foundation.log(256.0)) < 0.1, "fresh loss \(first), ln(256) = \(Foundation.log(256.0))")
        let parameters = model.parameters.named.map(\.tensor)
        let moments = try parameters.map { try $0.zerosLike() }
        let squares = try parameters.map { try $0.zerosLike() }
        let steps = try parameters.map { _ in try Tensor.zeros([]) }
        var last = first
        for _ in 0..<150 {
            let value = try loss()
            try value.backward()
            try Foreach.fusedAdamW_(
                parameters: parameters, grads: parameters.map { $0.grad! }, expAvgs: moments, expAvgSqs: squares,
                steps: steps, lr: 3e-3, beta1: 0.9, beta2: 0.95, weightDecay: 0, eps: 1e-8)
            for parameter in parameters { try parameter.setGrad(nil) }
            last = try value.item(Double.self)
        }
        #expect(last < 0.1, "loss after 150 steps on one batch: \(last)")
    }
}
