import Distributed
import Models
import Torch

/// How a model is spread over the ranks of a device mesh: the one place that turns the mesh's dimensions into
/// wrappers, after torchtitan's `parallelize` functions. Each dimension is applied by its own step, in the order
/// the layouts need: mixed precision around the model, then data parallelism (replicated, fully sharded, or
/// both) over the slices of a tensor-parallel model (which `model/gpt2_tp` splits before). Pipeline parallelism
/// slots in before data parallelism as a step of its own.
public enum Parallelize {
    /// What the wrappers need besides the mesh.
    public struct Options: Sendable {
        /// The dtype forward and backward compute in (float32 master weights stay); nil for float32.
        public var computeDType: DType?
        /// The dtype gradients are reduced in; nil for the parameters' own.
        public var reduceDType: DType?
        /// FSDP frees a unit's gathered parameters after its forward and gathers them again for backward.
        public var reshardAfterForward: Bool
        /// DDP's gradient buckets.
        public var bucketBytes: Int

        public init(
            computeDType: DType? = nil, reduceDType: DType? = nil, reshardAfterForward: Bool = true,
            bucketBytes: Int = 25 * 1_048_576
        ) {
            self.computeDType = computeDType
            self.reduceDType = reduceDType
            self.reshardAfterForward = reshardAfterForward
            self.bucketBytes = bucketBytes
        }
    }

    /// `model` wrapped for `mesh`: mixed precision, then DDP over the data-parallel
    /// ranks when nothing is sharded, or FSDP over `dp_shard` (replicated across `dp_replicate`: hybrid sharding).
    ///
    /// - Parameters:
    ///   - world: the group of all ranks; nil (or one rank) when the job runs alone.
    /// - Throws: ``ParallelismError/invalidConfig(_:)`` for a layout this version cannot apply (pipeline or context
    ///   parallelism), a tensor-parallel degree the model was not split for, or a world that is not the mesh's.
    public static func apply(to model: any Model, mesh: DeviceMesh, world: ProcessGroup?, options: Options) throws -> any Model {
        if let parts = model as? PipelineModelParts {
            // Pipeline parallelism: each stage's part is wrapped on its own (torchtitan's per-model-part parallelize).
            try checkLayout(of: parts, against: mesh)
            return try parts.map { part in try apply(toPart: part, mesh: mesh, world: world, options: options) }
        }
        return try apply(toPart: model, mesh: mesh, world: world, options: options)
    }

    private static func apply(toPart model: any Model, mesh: DeviceMesh, world: ProcessGroup?, options: Options) throws -> any Model {
        // Always wrapped, so a run reads its compute dtype in one place (a nil dtype passes the forward through).
        let model = try MixedPrecisionModel(wrapping: model, computeDType: options.computeDType)
        guard mesh.worldSize > 1 else { return model }
        try checkLayout(of: model, against: mesh)
        guard let world, world.size == mesh.worldSize else {
            throw ParallelismError.invalidConfig(
                "the mesh spans \(mesh.worldSize) ranks, the job has \(world?.size ?? 1)")
        }
        return try applyDataParallelism(to: model, mesh: mesh, world: world, options: options)
    }

    /// DDP over all the mesh's data-parallel ranks (`model/ddp_wrapped`: replicated whatever the mesh's split of
    /// `dp_replicate` and `dp_shard`).
    public static func replicate(_ model: any Model, mesh: DeviceMesh, world: ProcessGroup, bucketBytes: Int) throws -> any Model {
        try checkLayout(of: model, against: mesh)
        guard mesh.dataParallelDegree > 1 else { return model }
        let group = try mesh.group([.dp_replicate, .dp_shard], of: world)
        let replicated = { (part: any Model) throws -> any Model in
            try DataParallelModel(wrapping: part, group: group, bucketBytes: bucketBytes)
        }
        // A pipeline's parts are replicated each on its own.
        if let parts = model as? PipelineModelParts { return try parts.map(replicated) }
        return try replicated(model)
    }

    /// Checks that the mesh asks for what this version applies, and that a tensor-parallel degree in the mesh is the
    /// one the model was split for (`model/gpt2_tp` splits it; the data-parallel wrappers then work on its slices).
    static func checkLayout(of model: any Model, against mesh: DeviceMesh) throws {
        guard mesh.degree(of: [.cp]) == 1 else {
            throw ParallelismError.invalidConfig(
                "context parallelism is not available yet; use data-parallel, tensor-parallel and pipeline degrees")
        }
        let pipelineDegree = mesh.degree(of: [.pp])
        if let parts = model as? PipelineModelParts {
            guard pipelineDegree > 1, parts.layouts[0].count % pipelineDegree == 0 else {
                throw ParallelismError.invalidConfig(
                    "the model is split into \(parts.layouts[0].count) pipeline stages, but the device mesh has pipeline_parallel_degree \(pipelineDegree)"
                )
            }
            return try checkLayout(of: parts.parts[0], against: mesh)
        }
        guard pipelineDegree == 1 || model.unwrapped(as: GPT2LLM.self)?.pipelineStage != nil else {
            throw ParallelismError.invalidConfig(
                "the device mesh has pipeline_parallel_degree \(pipelineDegree), but the model is whole: split it into stages with pipeline/staged first"
            )
        }
        let meshDegree = mesh.degree(of: [.tp])
        let modelDegree = model.unwrapped(as: (any SlicedParameterModel).self)?.tensorParallelDegree ?? 1
        guard meshDegree == modelDegree else {
            if modelDegree == 1 {
                throw ParallelismError.invalidConfig(
                    "the device mesh has tensor_parallel_degree \(meshDegree), but the model is whole: wrap it in model/gpt2_tp first")
            }
            throw ParallelismError.invalidConfig(
                "the model is split over \(modelDegree) tensor-parallel ranks, but the device mesh has tensor_parallel_degree \(meshDegree)"
            )
        }
    }

    /// Data parallelism over `dp_replicate` × `dp_shard` (the ranks holding the same tensor-parallel slices).
    static func applyDataParallelism(to model: any Model, mesh: DeviceMesh, world: ProcessGroup, options: Options) throws -> any Model {
        guard mesh.dataParallelDegree > 1 else { return model }
        if mesh.degree(of: [.dp_shard]) == 1 {
            // Nothing to shard over: replicated data parallelism across dp_replicate.
            return try DataParallelModel(
                wrapping: model, group: try mesh.group([.dp_replicate, .dp_shard], of: world),
                bucketBytes: options.bucketBytes)
        }
        let replicate = mesh.degree(of: [.dp_replicate]) > 1 ? try mesh.group([.dp_replicate], of: world) : nil
        return try FullyShardedModel(
            wrapping: model, shardGroup: try mesh.group([.dp_shard], of: world), replicateGroup: replicate,
            reshardAfterForward: options.reshardAfterForward, reduceDType: options.reduceDType)
    }
}
