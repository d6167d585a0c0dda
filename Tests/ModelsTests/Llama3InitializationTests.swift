import Foundation
import Testing
import Torch

@testable import Models

/// `model_initialization/gpt2_llama3_like`: TorchTitan's Llama 3 distributions on the Llama form.
@Suite struct Llama3InitializationTests {
    func llama(layers: Int = 4, tied: Bool = false, bias: Bool = false, activation: GPT2LLMConfig.Activation = .swiglu) throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm)
        return try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 512, sequenceLength: 32, layerCount: layers, queryHeads: 4, keyValueHeads: 2, embeddingSize: 128,
                ffnHidden: 512, bias: bias, positionEmbedding: .none, rotaryBaseFrequency: 10_000, activation: activation,
                attentionNorm: norm,
                ffnNorm: norm, lmHeadNorm: norm, weightTying: tied))
    }

    func standardDeviation(_ tensor: Tensor) throws -> Double { try tensor.detach().variance(correction: 0).sqrt().item(Double.self) }
    func largest(_ tensor: Tensor) throws -> Double { try tensor.detach().abs().max().item(Double.self) }

    @Test func distributionsFollowTorchTitan() throws {
        let model = try llama()
        try Llama3Initialization(layerCount: 4, embeddingSize: 128).initialize(model.parameters, seed: 1)
        let p = model.parameters.tensors
        func expectStd(_ name: String, _ expected: Double, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let actual = try standardDeviation(p[name]!)
            #expect(Swift.abs(actual - expected) < 0.06 * expected, "\(name): \(actual) vs \(expected)", sourceLocation: sourceLocation)
        }
        try expectStd("transformer.h.0.attn.q_attn.weight", 0.02)
        try expectStd("transformer.h.3.attn.k_attn.weight", 0.02)
        try expectStd("transformer.h.2.mlp.W.weight", 0.02)
        // Depth-scaled: 0.02 / sqrt(2 (layer + 1)).
        try expectStd("transformer.h.0.attn.c_proj.weight", 0.02 / 2.0.squareRoot())
        try expectStd("transformer.h.3.attn.c_proj.weight", 0.02 / 8.0.squareRoot())
        try expectStd("transformer.h.1.mlp.V.weight", 0.02 / 4.0.squareRoot())
        try expectStd("transformer.h.1.mlp.W_2.weight", 0.02 / 4.0.squareRoot())
        // Untied: the embedding is a unit normal; the head is truncated at 3 std of 1/sqrt(128).
        try expectStd("transformer.wte.weight", 1)
        let headStd = 1 / 128.0.squareRoot()
        #expect(try largest(p["transformer.lm_head.weight"]!) <= 3 * headStd)
        #expect(
            Swift.abs(try standardDeviation(p["transformer.lm_head.weight"]!) - headStd * 0.9866) < 0.05 * headStd,
            "truncation narrows the std")
        #expect(try p["transformer.h.0.attention_norm.weight"]!.eq(1).all().item(Bool.self), "norms keep their ones")
    }

    @Test func tiedEmbeddingsGetTheOutputProjectionsStdAndDepthInitCanBeOff() throws {
        let model = try llama(tied: true)
        try Llama3Initialization(layerCount: 4, embeddingSize: 128, depthInit: false).initialize(model.parameters, seed: 1)
        let p = model.parameters.tensors
        #expect(try largest(p["transformer.wte.weight"]!) <= 3 / 128.0.squareRoot())
        let flat = 0.02 / 8.0.squareRoot()
        #expect(Swift.abs(try standardDeviation(p["transformer.h.0.attn.c_proj.weight"]!) - flat) < 0.06 * flat)
        #expect(Swift.abs(try standardDeviation(p["transformer.h.3.mlp.W_2.weight"]!) - flat) < 0.06 * flat)
    }

    @Test func sameSeedSameWeightsAndOtherModelsAreRefused() throws {
        let (first, second) = (try llama(), try llama())
        let initializer = try Llama3Initialization(layerCount: 4, embeddingSize: 128)
        try initializer.initialize(first.parameters, seed: 9)
        try initializer.initialize(second.parameters, seed: 9)
        for ((name, a), (_, b)) in zip(first.parameters.named, second.parameters.named) { #expect(try a.equal(b), "\(name)") }
        #expect(throws: ModelError.self) { try initializer.initialize(try llama(bias: true).parameters, seed: 1) }
        #expect(throws: ModelError.self) { try initializer.initialize(try llama(activation: .gelu).parameters, seed: 1) }
        #expect(throws: ModelError.self) { try Llama3Initialization(layerCount: 0, embeddingSize: 128) }
    }
}
