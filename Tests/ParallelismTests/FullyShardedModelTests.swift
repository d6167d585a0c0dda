import Distributed
import Foundation
import Models
import Parallelism
import Testing
import Torch

/// FSDP's machinery in one process (a shard group of one): gathering, freeing, hooks and reduction must leave the
/// mathematics of the unwrapped model untouched. Several ranks are tested in LauncherTests.
@Suite(.serialized) struct FullyShardedModelTests {
    func tiedModel() throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
        let model = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 64, sequenceLength: 16, layerCount: 2, queryHeads: 4, keyValueHeads: 2, embeddingSize: 32, ffnHidden: 64,
                bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm,
                weightTying: true),
            seed: 3)
        try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 2).initialize(model.parameters, seed: 3)
        return model
    }

    func loss(_ model: any Model, tokens: Tensor) throws -> Tensor {
        let logits = try model.forward(["input_ids": tokens], training: true)["logits"]!
        return try Functional.crossEntropy(logits.reshape([-1, 64]), target: tokens.reshape([-1]))
    }

    @Test(arguments: [false, true])
    func oneShardGivesTheUnwrappedGradientsAndFreesBlocks(checkpointed: Bool) throws {
        // Port 0: the kernel picks a free one for the store (a group of one has no peer that needs to know it).
        let group = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: 0, rank: 0, size: 1)
        let tokens = try Tensor.randint(0, 64, [2, 16], generator: Generator(seed: 5))
        let plain = try tiedModel()
        try loss(plain, tokens: tokens).backward()
        let network = try tiedModel()
        if checkpointed { network.checkpointedLayers = [0, 1] }
        let sharded = try FullyShardedModel(wrapping: network, shardGroup: group)
        // Sharded: the block's full parameters hold no memory.
        let blockWeight = try #require(sharded.wrapped.parameters.tensors["transformer.h.0.attn.q_attn.weight"])
        #expect(try blockWeight.storageByteCount() == 0)
        for _ in 0..<2 {
            try sharded.parameters.named.forEach { try $0.tensor.setGrad(nil) }
            let value = try loss(sharded, tokens: tokens)
            #expect(try blockWeight.storageByteCount() == 0, "blocks are freed after their forward")
            try value.backward()
            try sharded.synchronizeGradients()
            #expect(try blockWeight.storageByteCount() == 0, "and after their backward")
            for (name, parameter) in plain.parameters.named {
                let shard = try #require(sharded.parameters.tensors[name])
                let expected = try #require(parameter.grad).reshape([-1])
                let actual = try #require(shard.grad)
                let difference = try (actual - expected).abs().max().item(Double.self)
                #expect(difference <= 1e-6, "\(name): \(difference)")
            }
        }
    }
}
