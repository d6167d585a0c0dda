import Distributed
import Models
import Torch

/// Where a model's parameters (and their optimizer state, which has their shapes) lie on this rank: a
/// tensor-parallel slice of each whole tensor (`model/gpt2_tp`), cut into a flat FSDP chunk (`fsdp2_wrapped`), or
/// whole. Under pipeline parallelism each rank holds some stages' parameters only, each stage laid out as above.
/// Checkpoint readers and writers go through it, so they read and write whole tensors whatever the layout.
public struct ParameterLayout {
    /// The FSDP wrapper, when the parameters are chunks.
    public let sharded: FullyShardedModel?
    /// The tensor-parallel model, when some parameters are slices.
    public let sliced: (any SlicedParameterModel)?
    /// The model's data-parallel replication (DDP), when there is one: its ranks hold the same tensors.
    let replicated: DataParallelModel?
    /// Under pipeline parallelism, each of this rank's stages: its parameters' names and layout.
    let stages: [(names: Set<String>, layout: ParameterLayout)]
    /// This rank's place among the pipeline's ranks (0 without pipeline parallelism).
    public let pipelineRank: Int
    /// Ranks of the pipeline, each holding other stages' parameters (1 without pipeline parallelism).
    public let pipelineDegree: Int

    public init(of model: any Model) {
        if let pipeline = model as? PipelineModelParts {
            // Every stage of a rank has the same tensor-parallel and sharding groups; names decide the stage.
            let first = ParameterLayout(of: pipeline.parts[0])
            (sharded, sliced, replicated) = (first.sharded, first.sliced, first.replicated)
            stages = pipeline.parts.map { (Set($0.parameters.names), ParameterLayout(of: $0)) }
            pipelineRank = pipeline.group?.rank ?? 0
            pipelineDegree = pipeline.group?.size ?? 1
            return
        }
        sharded = model.unwrapped(as: FullyShardedModel.self)
        sliced = model.unwrapped(as: (any SlicedParameterModel).self).flatMap { $0.isSliced ? $0 : nil }
        replicated = model.unwrapped(as: DataParallelModel.self)
        stages = []
        pipelineRank = 0
        pipelineDegree = 1
    }

    /// The layout of the stage holding `name` (this layout when the model is not pipeline-parallel).
    private func stage(holding name: String) throws -> ParameterLayout {
        guard !stages.isEmpty else { return self }
        guard let stage = stages.first(where: { $0.names.contains(name) }) else {
            throw ParallelismError.mismatch("no pipeline stage on pipeline rank \(pipelineRank) holds \(name)")
        }
        return stage.layout
    }

    /// Ranks over which the split parameters are sliced (1 without tensor parallelism).
    public var tensorParallelDegree: Int { sliced?.tensorParallelDegree ?? 1 }

    /// This rank's place among the slices.
    public var tensorParallelRank: Int { sliced?.tensorParallel?.rank ?? 0 }

    /// Ranks over which every tensor is chunked (1 without FSDP).
    public var shardCount: Int { sharded?.shardCount ?? 1 }

    /// The distinct pieces one pipeline rank's stages are cut into: slices × chunks.
    public var piecesPerPipelineRank: Int { tensorParallelDegree * shardCount }

    /// The distinct pieces the ranks hold between them, one file each in a checkpoint: pipeline ranks × slices ×
    /// chunks.
    public var pieceCount: Int { pipelineDegree * piecesPerPipelineRank }

    /// Which piece this rank holds: pipeline-rank-major, then slice, then chunk.
    public var pieceIndex: Int {
        pipelineRank * piecesPerPipelineRank + tensorParallelRank * shardCount + (sharded?.shardGroup.rank ?? 0)
    }

    /// Whether this rank's piece is written by it: one replica writes (FSDP's replicate index 0, DDP's rank 0).
    public var writesPiece: Bool {
        if let sharded { return (sharded.replicateGroup?.rank ?? 0) == 0 }
        return (replicated?.group.rank ?? 0) == 0
    }

    /// Whether parameters on this rank are other than whole.
    public var isDistributed: Bool { pieceCount > 1 }

    /// The whole tensor's shape for parameter `name`, given the shape this rank's model uses for it.
    public func wholeShape(of name: String, localShape: [Int]) throws -> [Int] {
        let layout = try stage(holding: name)
        return try layout.sliced?.wholeShape(of: name) ?? localShape
    }

    /// The whole shape of parameter `name` as this rank's model holds it (an FSDP chunk's parameter, a slice).
    public func wholeShape(of name: String, in model: any Model) throws -> [Int] {
        let layout = try stage(holding: name)
        guard let tensor = model.parameters.tensors[name] else { throw ParallelismError.mismatch("the model has no parameter \(name)") }
        return try layout.wholeShape(of: name, localShape: layout.sharded?.fullShape(of: name) ?? tensor.shape)
    }

    /// How parameter `name` is sliced: the dimension split across tensor-parallel ranks, nil when replicated.
    public func slicedDimension(of name: String) -> Int? {
        sliced == nil ? nil : TensorParallelShard.split(of: name).dimension
    }

    /// What this rank keeps of `whole`, a tensor shaped like parameter `name`: its slice, then the slice's chunk.
    public func local(ofWhole whole: Tensor, name: String) throws -> Tensor {
        guard stages.isEmpty else { return try stage(holding: name).local(ofWhole: whole, name: name) }
        if let sliced {
            let expected = try sliced.wholeShape(of: name)
            guard whole.shape == expected else {
                throw ParallelismError.mismatch("\(name) has shape \(whole.shape), the model needs \(expected)")
            }
        }
        let slice = try sliced?.slice(ofWhole: whole, name: name) ?? whole
        return try sharded?.localChunk(of: slice, name: name) ?? slice
    }

    /// The whole tensor of which this rank holds `local` for parameter `name`: gathered over the FSDP group, then
    /// over the tensor-parallel group. Collective: every rank calls it for the same names in the same order.
    public func whole(ofLocal local: Tensor, name: String) throws -> Tensor {
        guard stages.isEmpty else {
            throw ParallelismError.invalidConfig(
                "a whole \(name) of a pipeline-parallel model would need the other stages' ranks; save with checkpoint_saving_execution/dcp, then convert"
            )
        }
        let slice = try sharded?.wholeTensor(ofChunk: local, name: name) ?? local.detach()
        guard let dimension = slicedDimension(of: name), let communicator = sliced?.tensorParallel?.communicator else { return slice }
        return try communicator.allGather(slice.contiguous(), dim: dimension)
    }
}
