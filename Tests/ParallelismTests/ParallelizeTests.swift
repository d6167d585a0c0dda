import Distributed
import Models
import Parallelism
import Testing
import Torch

/// The mesh → wrapper decision. Several ranks (DDP, FSDP, hybrid) run through LauncherTests; here what one process
/// can tell.
struct ParallelizeTests {
    func model() throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: .rmsNorm, epsilon: 1e-6, bias: false)
        return try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 32, sequenceLength: 8, layerCount: 1, queryHeads: 2, keyValueHeads: 2, embeddingSize: 16, ffnHidden: 32,
                bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, activation: .swiglu, attentionNorm: norm, ffnNorm: norm,
                lmHeadNorm: norm, weightTying: false),
            seed: 1)
    }

    @Test func oneRankGetsMixedPrecisionOnly() throws {
        let model = try model()
        let mesh = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 1, worldSize: 1)
        let wrapped = try Parallelize.apply(to: model, mesh: mesh, world: nil, options: .init(computeDType: .bfloat16))
        let mixed = try #require(wrapped as? MixedPrecisionModel)
        #expect(mixed.wrapped === model && mixed.computeDType == .bfloat16)
    }

    @Test func layoutsThisVersionCannotApplyAreRefusedByName() throws {
        let tensorParallel = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 2, tensorParallelDegree: 2, worldSize: 4)
        let error = #expect(throws: ParallelismError.self) {
            try Parallelize.apply(to: try model(), mesh: tensorParallel, world: nil, options: .init())
        }
        #expect(error?.description.contains("tensor, pipeline and context parallelism are not available yet") == true)
        let twoRanks = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 2, worldSize: 2)
        let alone = #expect(throws: ParallelismError.self) { try Parallelize.apply(to: try model(), mesh: twoRanks, world: nil, options: .init()) }
        #expect(alone?.description == "the mesh spans 2 ranks, the job has 1")
    }
}
