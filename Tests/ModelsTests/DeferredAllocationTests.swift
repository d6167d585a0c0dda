import Foundation
import Testing
import Torch

@testable import Models

/// `use_meta_device`: a model built without memory gets exactly the values of one built whole, parameter by
/// parameter, from its initializer or a checkpoint, and refuses to run before.
@Suite(.serialized) struct DeferredAllocationTests {
    func model(llama: Bool, tied: Bool, deferred: Bool) throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: llama ? .pytorchRMSNorm : .layerNorm, bias: !llama)
        return try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 2048, sequenceLength: 64, layerCount: 3, queryHeads: 4, keyValueHeads: 2, embeddingSize: 128,
                ffnHidden: 512,
                bias: !llama, positionEmbedding: llama ? .none : .absolute, rotaryBaseFrequency: llama ? 10_000 : nil,
                activation: llama ? .swiglu : .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: tied),
            deferAllocation: deferred)
    }

    @Test func aDeferredModelHoldsNoMemoryAndRefusesToRun() throws {
        // (The allocator's counters are process-wide and other suites run alongside; storage sizes are this model's.)
        let model = try model(llama: false, tied: false, deferred: true)
        #expect(model.parameterCount > 1_000_000)
        #expect(try model.parameters.named.reduce(0) { $0 + (try $1.tensor.storageByteCount()) } == 0)
        #expect(try model.parameters.named.allSatisfy { try !$0.tensor.isAllocated })
        #expect(model.parameters.named.first { $0.name == "transformer.wte.weight" }?.tensor.shape == [2048, 128])
        let error = #expect(throws: ModelError.self) { try model(Tensor.zeros([1, 8], dtype: .int64)) }
        #expect(error?.description.contains("use_meta_device") == true)
        #expect(error?.description.contains("transformer.wte.weight") == true)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func initialisingGivesTheValuesOfAModelBuiltWhole(llama: Bool, tied: Bool) throws {
        let initializer: any ModelInitializer =
            llama
            ? try Llama3Initialization(layerCount: 3, embeddingSize: 128)
            : try ComposedInitialization(weightInitType: .scaledEmbed, std: .value(0.02), layerCount: 3)
        let whole = try model(llama: llama, tied: tied, deferred: false)
        try initializer.initialize(whole.parameters, seed: 7)
        let deferred = try model(llama: llama, tied: tied, deferred: true)
        try initializer.initialize(deferred.parameters, seed: 7)
        #expect(!deferred.parameters.hasDeferredParameters)
        #expect(deferred.parameters.named.map(\.name) == whole.parameters.named.map(\.name))
        for ((name, expected), (_, actual)) in zip(whole.parameters.named, deferred.parameters.named) {
            #expect(try actual.equal(expected), "\(name)")
        }
        let tokens = try Tensor.randint(0, 2048, [2, 16], generator: Generator(seed: 3))
        #expect(try deferred(tokens).equal(whole(tokens)))
    }

    @Test func loadingAllocatesParameterByParameter() throws {
        let model = try model(llama: true, tied: true, deferred: true)
        let embedding = try Tensor.randn([2048, 128], generator: Generator(seed: 1))
        // The tied head is the embedding: loading it under either name fills both.
        try model.parameters.load("transformer.lm_head.weight", from: embedding)
        #expect(try model.parameters.tensors["transformer.wte.weight"]!.equal(embedding))
        #expect(model.parameters.deferredFills["transformer.wte.weight"] == nil)
        let saving = #expect(throws: ModelError.self) { try model.parameters.requireAllocated(for: "saving a checkpoint") }
        #expect(saving?.description.contains("saving a checkpoint") == true)
        try model.parameters.allocateAll()
        #expect(try model.parameters.tensors["transformer.h.0.attention_norm.weight"]!.eq(1).all().item(Bool.self))
        #expect(try model.parameters.tensors["transformer.h.0.attn.q_attn.weight"]!.eq(0).all().item(Bool.self))
        _ = try model(Tensor.zeros([1, 8], dtype: .int64))
    }
}
