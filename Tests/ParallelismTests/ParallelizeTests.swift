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

    /// A tensor-parallel group of which only the layout matters here (nothing is summed).
    final class LayoutOnlyGroup: TensorParallelCommunicator {
        let size: Int
        let rank = 0
        init(size: Int) { self.size = size }
        func allReduceSum(_ tensor: Tensor) throws -> Tensor { tensor }
    }

    @Test func layoutsThisVersionCannotApplyAreRefusedByName() throws {
        let context = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 2, contextParallelDegree: 2, worldSize: 4)
        let error = #expect(throws: ParallelismError.self) {
            try Parallelize.apply(to: try model(), mesh: context, world: nil, options: .init())
        }
        #expect(error?.description.contains("context parallelism is not available yet") == true)
        // A pipeline mesh needs the model split into stages first.
        let pipeline = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 2, pipelineParallelDegree: 2, worldSize: 4)
        let whole = #expect(throws: ParallelismError.self) {
            try Parallelize.apply(to: try model(), mesh: pipeline, world: nil, options: .init())
        }
        #expect(whole?.description.contains("split it into stages with pipeline/staged first") == true)
        let twoRanks = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 2, worldSize: 2)
        let alone = #expect(throws: ParallelismError.self) {
            try Parallelize.apply(to: try model(), mesh: twoRanks, world: nil, options: .init())
        }
        #expect(alone?.description == "the mesh spans 2 ranks, the job has 1")
    }

    @Test func aTensorParallelMeshNeedsAModelSplitToItsDegree() throws {
        let mesh = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 2, tensorParallelDegree: 2, worldSize: 4)
        let whole = #expect(throws: ParallelismError.self) {
            try Parallelize.apply(to: try model(), mesh: mesh, world: nil, options: .init())
        }
        #expect(
            whole?.description == "the device mesh has tensor_parallel_degree 2, but the model is whole: wrap it in model/gpt2_tp first")
        let split = try model().splitForTensorParallelism(TensorParallelShard(communicator: LayoutOnlyGroup(size: 2)))
        let wholeCount = try model().parameterCount
        #expect(split.tensorParallelDegree == 2 && split.parameterCount == wholeCount)
        // Wrapped (mixed precision here), the count is still the whole model's: MFU counts its FLOPs.
        let alone = try Parallelize.apply(
            to: split, mesh: try DeviceMesh(dataParallelShardDegree: 1, worldSize: 1), world: nil, options: .init())
        #expect(alone is MixedPrecisionModel && alone.parameterCount == wholeCount)
        let wider = try DeviceMesh(deviceType: "cpu", dataParallelShardDegree: 1, tensorParallelDegree: 4, worldSize: 4)
        let mismatch = #expect(throws: ParallelismError.self) {
            try Parallelize.apply(to: split, mesh: wider, world: nil, options: .init())
        }
        #expect(
            mismatch?.description == "the model is split over 2 tensor-parallel ranks, but the device mesh has tensor_parallel_degree 4")
    }
}
