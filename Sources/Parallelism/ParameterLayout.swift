import Distributed
import Models
import Torch

/// Where a model's parameters (and their optimizer state, which has their shapes) lie on this rank: a
/// tensor-parallel slice of each whole tensor (`model/gpt2_tp`), cut into a flat FSDP chunk (`fsdp2_wrapped`), or
/// whole. Checkpoint readers and writers go through it, so they read and write whole tensors whatever the layout.
public struct ParameterLayout {
    /// The FSDP wrapper, when the parameters are chunks.
    public let sharded: FullyShardedModel?
    /// The tensor-parallel model, when some parameters are slices.
    public let sliced: (any SlicedParameterModel)?
    /// The model's data-parallel replication (DDP), when there is one: its ranks hold the same tensors.
    let replicated: DataParallelModel?

    public init(of model: any Model) {
        sharded = model.unwrapped(as: FullyShardedModel.self)
        sliced = model.unwrapped(as: (any SlicedParameterModel).self).flatMap { $0.isSliced ? $0 : nil }
        replicated = model.unwrapped(as: DataParallelModel.self)
    }

    /// Ranks over which the split parameters are sliced (1 without tensor parallelism).
    public var tensorParallelDegree: Int { sliced?.tensorParallelDegree ?? 1 }

    /// This rank's place among the slices.
    public var tensorParallelRank: Int { sliced?.tensorParallel?.rank ?? 0 }

    /// Ranks over which every tensor is chunked (1 without FSDP).
    public var shardCount: Int { sharded?.shardCount ?? 1 }

    /// The distinct pieces the ranks hold between them, one file each in a checkpoint: slices × chunks.
    public var pieceCount: Int { tensorParallelDegree * shardCount }

    /// Which piece this rank holds: slice-major, chunk-minor.
    public var pieceIndex: Int { tensorParallelRank * shardCount + (sharded?.shardGroup.rank ?? 0) }

    /// Whether this rank's piece is written by it: one replica writes (FSDP's replicate index 0, DDP's rank 0).
    public var writesPiece: Bool {
        if let sharded { return (sharded.replicateGroup?.rank ?? 0) == 0 }
        return (replicated?.group.rank ?? 0) == 0
    }

    /// Whether parameters on this rank are other than whole.
    public var isDistributed: Bool { pieceCount > 1 }

    /// The whole tensor's shape for parameter `name`, given the shape this rank's model uses for it.
    public func wholeShape(of name: String, localShape: [Int]) throws -> [Int] {
        try sliced?.wholeShape(of: name) ?? localShape
    }

    /// How parameter `name` is sliced: the dimension split across tensor-parallel ranks, nil when replicated.
    public func slicedDimension(of name: String) -> Int? {
        sliced == nil ? nil : TensorParallelShard.split(of: name).dimension
    }

    /// What this rank keeps of `whole`, a tensor shaped like parameter `name`: its slice, then the slice's chunk.
    public func local(ofWhole whole: Tensor, name: String) throws -> Tensor {
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
        let slice = try sharded?.wholeTensor(ofChunk: local, name: name) ?? local.detach()
        guard let dimension = slicedDimension(of: name), let communicator = sliced?.tensorParallel?.communicator else { return slice }
        return try communicator.allGather(slice.contiguous(), dim: dimension)
    }
}
