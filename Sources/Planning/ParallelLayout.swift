/// How a run spreads over GPUs: the device mesh's degrees, how data parallelism shards, micro-batching and
/// activation checkpointing, and the precision of what moves between GPUs.
public struct ParallelLayout: Sendable, Equatable {
    /// How the data-parallel ranks hold parameters, gradients and optimizer state.
    public enum Sharding: String, Sendable, CaseIterable {
        /// FSDP FULL_SHARD / FSDP2 with resharding: parameters gathered for forward and again for backward.
        case fullShard = "FULL_SHARD"
        /// FSDP SHARD_GRAD_OP / FSDP2 without resharding after forward: gathered once per step.
        case shardGradOp = "SHARD_GRAD_OP"
        /// Sharded within `shardGroupSize` ranks (a node), replicated across them (HSDP).
        case hybridShard = "HYBRID_SHARD"
        /// Replicated parameters, gradients all-reduced (DDP, NO_SHARD).
        case replicate = "NO_SHARD"
    }

    public var gpus: Int
    public var gpusPerNode: Int
    public var sharding: Sharding
    /// Ranks one shard group spans for hybrid sharding (the mesh's `dp_shard`); the data-parallel degree otherwise.
    public var shardGroupSize: Int?
    public var tensorParallelDegree: Int
    public var pipelineParallelDegree: Int
    /// Pipeline micro-batches per step and model chunks per pipeline rank (interleaved schedules have several).
    public var pipelineMicroBatches: Int
    public var pipelineChunksPerRank: Int
    public var microBatchSize: Int
    public var gradientAccumulationSteps: Int
    /// The share of transformer blocks whose activations are recomputed in backward (1 for full checkpointing).
    public var recomputedFraction: Double
    /// Bytes per element of gathered parameters (`param_dtype`) and of reduced gradients (`reduce_dtype`).
    public var parameterBytes: Int
    public var reduceBytes: Int

    public init(
        gpus: Int, gpusPerNode: Int = 4, sharding: Sharding = .fullShard, shardGroupSize: Int? = nil,
        tensorParallelDegree: Int = 1, pipelineParallelDegree: Int = 1, pipelineMicroBatches: Int = 1,
        pipelineChunksPerRank: Int = 1, microBatchSize: Int = 1, gradientAccumulationSteps: Int = 1,
        recomputedFraction: Double = 0, parameterBytes: Int = 2, reduceBytes: Int = 2
    ) {
        self.gpus = gpus
        self.gpusPerNode = gpusPerNode
        self.sharding = sharding
        self.shardGroupSize = shardGroupSize
        self.tensorParallelDegree = tensorParallelDegree
        self.pipelineParallelDegree = pipelineParallelDegree
        self.pipelineMicroBatches = pipelineMicroBatches
        self.pipelineChunksPerRank = pipelineChunksPerRank
        self.microBatchSize = microBatchSize
        self.gradientAccumulationSteps = gradientAccumulationSteps
        self.recomputedFraction = recomputedFraction
        self.parameterBytes = parameterBytes
        self.reduceBytes = reduceBytes
    }

    /// Data-parallel ranks: the GPUs not used by tensor and pipeline parallelism.
    public var dataParallelDegree: Int { gpus / (tensorParallelDegree * pipelineParallelDegree) }

    /// Ranks each parameter is sharded over.
    public var shardDegree: Int {
        switch sharding {
        case .replicate: return 1
        case .hybridShard: return min(shardGroupSize ?? gpusPerNode, dataParallelDegree)
        case .fullShard, .shardGradOp: return dataParallelDegree
        }
    }

    /// Copies of each shard (hybrid sharding's replicas; all data-parallel ranks when replicated).
    public var replicaDegree: Int { dataParallelDegree / shardDegree }

    /// Sequences one optimizer step consumes over all GPUs.
    public var sequencesPerStep: Int { microBatchSize * gradientAccumulationSteps * dataParallelDegree }

    /// Problems that make the layout impossible, each naming the numbers involved.
    public func problems() -> [String] {
        var found: [String] = []
        if gpus < 1 { found.append("--gpus must be at least 1, found \(gpus)") }
        if gpusPerNode < 1 { found.append("--gpus_per_node must be at least 1, found \(gpusPerNode)") }
        let modelParallel = tensorParallelDegree * pipelineParallelDegree
        if modelParallel < 1 || gpus % max(modelParallel, 1) != 0 {
            found.append(
                "\(gpus) GPUs cannot be split into tensor parallel degree \(tensorParallelDegree) × pipeline parallel degree \(pipelineParallelDegree)"
            )
        } else if sharding == .hybridShard, dataParallelDegree % shardDegree != 0 {
            found.append("data parallel degree \(dataParallelDegree) is not a multiple of the shard group size \(shardDegree)")
        }
        if microBatchSize < 1 { found.append("micro batch size must be at least 1, found \(microBatchSize)") }
        if gradientAccumulationSteps < 1 { found.append("gradient accumulation steps must be at least 1") }
        if pipelineParallelDegree > 1 && pipelineMicroBatches < 1 { found.append("a pipeline needs at least one micro-batch") }
        return found
    }
}
