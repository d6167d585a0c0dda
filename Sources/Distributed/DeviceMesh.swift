/// The parallelism layout of a run (`device_mesh/default`, after torchtitan's `ParallelDims`): data-parallel
/// replicate × shard × context × tensor × pipeline degrees whose product is the world size.
public struct DeviceMesh: Sendable, Equatable {
    /// One way of splitting work across ranks, named as Modalities' `ParallelismDegrees`.
    public enum Parallelism: String, Sendable, CaseIterable {
        case dp_replicate, dp_shard, cp, tp, pp
    }

    public let deviceType: String
    public let worldSize: Int
    public let degrees: [Parallelism: Int]
    /// Whether the loss is computed on logits split over the vocabulary across the tp ranks (`enable_loss_parallel`).
    public let lossParallel: Bool

    /// Checks the degrees as Modalities does; one of the data-parallel degrees may be -1 (whatever is left).
    public init(
        deviceType: String = "cuda", dataParallelReplicateDegree: Int = 1, dataParallelShardDegree: Int,
        tensorParallelDegree: Int = 1, pipelineParallelDegree: Int = 1, contextParallelDegree: Int = 1,
        enableLossParallel: Bool = false, worldSize: Int
    ) throws {
        guard worldSize >= 1 else { throw DistributedError.invalidMesh("world_size must be 1 or greater, found \(worldSize)") }
        for (name, degree) in [
            ("tensor_parallel_degree", tensorParallelDegree), ("pipeline_parallel_degree", pipelineParallelDegree),
            ("context_parallel_degree", contextParallelDegree),
        ] where degree < 1 {
            throw DistributedError.invalidMesh("\(name) must be 1 or greater, found \(degree)")
        }
        for (name, degree) in [
            ("data_parallel_shard_degree", dataParallelShardDegree), ("data_parallel_replicate_degree", dataParallelReplicateDegree),
        ]
        where !(degree == -1 || degree >= 1) {
            throw DistributedError.invalidMesh("\(name) must be -1 or 1 or greater, found \(degree)")
        }
        guard !(dataParallelShardDegree == -1 && dataParallelReplicateDegree == -1) else {
            throw DistributedError.invalidMesh("at most one of data_parallel_replicate_degree and data_parallel_shard_degree can be -1")
        }
        let others = tensorParallelDegree * pipelineParallelDegree * contextParallelDegree
        let shard = dataParallelShardDegree == -1 ? worldSize / (dataParallelReplicateDegree * others) : dataParallelShardDegree
        let replicate = dataParallelReplicateDegree == -1 ? worldSize / (shard * others) : dataParallelReplicateDegree
        guard shard * replicate * others == worldSize else {
            throw DistributedError.invalidMesh(
                "data_parallel_shard_degree (\(shard)) × data_parallel_replicate_degree (\(replicate)) × tensor_parallel_degree (\(tensorParallelDegree)) × pipeline_parallel_degree (\(pipelineParallelDegree)) × context_parallel_degree (\(contextParallelDegree)) must equal world_size (\(worldSize))"
            )
        }
        if enableLossParallel && tensorParallelDegree <= 1 {
            throw DistributedError.invalidMesh("enable_loss_parallel needs tensor_parallel_degree > 1")
        }
        self.deviceType = deviceType
        self.worldSize = worldSize
        lossParallel = enableLossParallel
        degrees = [
            .dp_replicate: replicate, .dp_shard: shard, .cp: contextParallelDegree, .tp: tensorParallelDegree, .pp: pipelineParallelDegree,
        ]
    }

    /// The product of the degrees of `methods` (Modalities' `get_parallel_degree`).
    public func degree(of methods: [Parallelism]) -> Int {
        methods.reduce(1) { $0 * (degrees[$1] ?? 1) }
    }

    /// Ranks that see different data: replicate × shard.
    public var dataParallelDegree: Int { degree(of: [.dp_replicate, .dp_shard]) }
}

/// A distributed layout or launch that cannot work.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    case invalidMesh(String)
    case unavailable(String)
    case collectiveFailed(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message): return message
        case .invalidMesh(let message): return message
        case .unavailable(let message): return message
        case .collectiveFailed(let message): return message
        }
    }
}

extension DeviceMesh {
    /// Dimensions in torchtitan's order, outermost first: ranks are laid out row-major over these degrees.
    public static let order: [Parallelism] = [.pp, .dp_replicate, .dp_shard, .cp, .tp]

    /// The global ranks that share `rank`'s group along `dimensions` (all other coordinates equal), in order.
    public func members(of rank: Int, along dimensions: [Parallelism]) -> [Int] {
        let sizes = Self.order.map { degrees[$0] ?? 1 }
        var coordinates = [Int](repeating: 0, count: sizes.count)
        var rest = rank
        for index in sizes.indices.reversed() {
            coordinates[index] = rest % sizes[index]
            rest /= sizes[index]
        }
        var result: [Int] = []
        func visit(_ index: Int, _ current: [Int]) {
            guard index < sizes.count else {
                result.append(current.enumerated().reduce(0) { $0 * sizes[$1.offset] + $1.element })
                return
            }
            if dimensions.contains(Self.order[index]) {
                for value in 0..<sizes[index] {
                    var next = current
                    next[index] = value
                    visit(index + 1, next)
                }
            } else {
                visit(index + 1, current)
            }
        }
        visit(0, coordinates)
        return result.sorted()
    }

    /// `rank`'s coordinate along one dimension (its rank within that dimension's group), as Modalities'
    /// `get_parallel_rank`.
    public func coordinate(of rank: Int, along dimension: Parallelism) -> Int {
        members(of: rank, along: [dimension]).firstIndex(of: rank) ?? 0
    }

    /// This rank's process group along `dimensions` (e.g. `[.dp_replicate, .dp_shard]` for data parallelism): the
    /// world group when the dimensions span every rank, else a subgroup. Every rank must ask in the same order.
    public func group(_ dimensions: [Parallelism], of world: ProcessGroup) throws -> ProcessGroup {
        guard world.size == worldSize else {
            throw DistributedError.invalidMesh("the mesh has world_size \(worldSize), the job \(world.size) ranks")
        }
        let members = members(of: world.rank, along: dimensions)
        if members.count == world.size { return world }
        return try world.subgroup(members: members, name: dimensions.map(\.rawValue).joined(separator: "+"))
    }
}
