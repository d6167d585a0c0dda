import Checkpointing
import Config
import Distributed
import Foundation
import Interop
import Models
import Parallelism
import Torch
import Training

/// The device mesh and the model wrappers that spread a model over it: tensor-parallel (`model/gpt2_tp`),
/// replicated (`model/ddp_wrapped`) and fully sharded (`model/fsdp2_wrapped`, `model/fsdp1_wrapped`), with their
/// configs.
struct DeviceMeshConfig: DeclaredConfig {
    @Field("device_type") var deviceType = "cuda"
    @Field("data_parallel_replicate_degree") var dataParallelReplicateDegree = 1
    @Field("data_parallel_shard_degree") var dataParallelShardDegree: Int
    @Field("tensor_parallel_degree") var tensorParallelDegree = 1
    @Field("pipeline_parallel_degree") var pipelineParallelDegree = 1
    @Field("context_parallel_degree") var contextParallelDegree = 1
    @Field("enable_loss_parallel") var enableLossParallel = false
    @Field("world_size") var worldSize: Int

    func mesh() throws -> DeviceMesh {
        do {
            return try DeviceMesh(
                deviceType: deviceType, dataParallelReplicateDegree: dataParallelReplicateDegree,
                dataParallelShardDegree: dataParallelShardDegree, tensorParallelDegree: tensorParallelDegree,
                pipelineParallelDegree: pipelineParallelDegree, contextParallelDegree: contextParallelDegree,
                enableLossParallel: enableLossParallel, worldSize: worldSize)
        } catch let error as DistributedError {
            throw ConfigValueError(error.description)
        }
    }

    func validate() throws { _ = try mesh() }
}

struct ParallelDegreeConfig: DeclaredConfig {
    enum Method: String, ConfigEnum { case dp_replicate, dp_shard, cp, tp, pp }

    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>
    @Field("parallelism_methods") var parallelismMethods: [Method]
}

/// Modalities' `PrecisionEnum` names.
enum PrecisionName: String, ConfigEnum {
    case FP_32, FP_16, BF_16

    var computeDType: DType? {
        switch self {
        case .FP_32: return nil
        case .FP_16: return .float16
        case .BF_16: return .bfloat16
        }
    }
}

extension ComponentRegistry {
    func registerParallelismComponents() {
        register(
            "device_mesh", "default", summary: "data-parallel replicate × shard × tensor × pipeline × context degrees",
            config: DeviceMeshConfig.self, produces: [DeviceMesh.self]
        ) { config, _ in try config.mesh() }
        register(
            "number_conversion", "parallel_degree", summary: "product of the device mesh's degrees of parallelism_methods",
            config: ParallelDegreeConfig.self, produces: [Int.self]
        ) { config, context in
            try context.build(config.deviceMesh).degree(
                of: config.parallelismMethods.map { DeviceMesh.Parallelism(rawValue: $0.rawValue)! })
        }
        register(
            "model", "ddp_wrapped", summary: "replicated data parallelism: gradients averaged over the ranks in buckets before each step",
            config: DDPWrappedModelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let model = try context.build(config.model)
            let bucketBytes = Int((config.bucketCapMB ?? 25) * 1_048_576)
            if let mesh = try context.build(config.deviceMesh) {
                guard mesh.dataParallelDegree > 1 else { return model }
                return try Parallelize.replicate(
                    model, mesh: mesh, world: try worldGroup(size: mesh.worldSize, context), bucketBytes: bucketBytes)
            }
            guard let world = context.run.worldGroup, world.size > 1 else { return model }
            return try DataParallelModel(wrapping: model, group: world, bucketBytes: bucketBytes)
        }
        register(
            "model", "fsdp2_wrapped",
            summary:
                "fully sharded data parallelism over the mesh's dp_shard ranks (hybrid with dp_replicate); mixed precision (param_dtype) over float32 master weights",
            config: FSDP2WrappedModelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let mesh = try context.build(config.deviceMesh)
            let model = try context.build(config.model)
            try checkBlockNames(config.blockNames, of: model)
            let world = mesh.worldSize > 1 ? try worldGroup(size: mesh.worldSize, context) : nil
            return try Parallelize.apply(
                to: model, mesh: mesh, world: world,
                options: .init(
                    computeDType: config.mixedPrecision.paramDType.computeDType,
                    reduceDType: config.mixedPrecision.reduceDType.computeDType,
                    reshardAfterForward: config.reshardAfterForward))
        }
        register(
            "model", "gpt2_tp",
            summary:
                "Modalities' tensor-parallel plan over the mesh's tp ranks: vocabulary-parallel embeddings, column/row-parallel attention and MLP with sequence parallelism between them, a column-parallel head (loss parallelism with enable_loss_parallel); fsdp2_wrapped then shards over dp_shard",
            config: GPT2TensorParallelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let mesh = try context.build(config.deviceMesh)
            let degree = mesh.degree(of: [.tp])
            guard degree > 1 else {
                throw ConfigValueError("device_mesh has no tp dimension (tensor_parallel_degree is 1); model/gpt2_tp needs one")
            }
            // As Modalities: torchtitan combines TP with replicated data parallelism through DDP, which it does not offer.
            let replicate = mesh.degree(of: [.dp_replicate])
            guard replicate == 1 else {
                throw ConfigValueError(
                    "data_parallel_replicate_degree \(replicate) cannot be used with tensor parallelism (tensor_parallel_degree \(degree)); shard the data-parallel ranks instead (data_parallel_shard_degree)"
                )
            }
            let model = try context.build(config.model)
            var group: ProcessGroup?  // joined after the model's check, so a bad degree is a config error on any rank
            func split(_ model: any Model) throws -> any Model {
                guard let network = model as? GPT2LLM else {
                    throw ConfigValueError(
                        "model/gpt2_tp splits a model/gpt2 (or a pipeline's model parts) directly, before fsdp2_wrapped and model_initialized, not \(type(of: model))"
                    )
                }
                do {
                    try TensorParallelShard.validate(network.config, degree: degree)
                    let tensorParallelGroup = try group ?? mesh.group([.tp], of: try worldGroup(size: mesh.worldSize, context))
                    group = tensorParallelGroup
                    return try network.splitForTensorParallelism(
                        TensorParallelShard(
                            communicator: ProcessGroupCommunicator(group: tensorParallelGroup), lossParallel: mesh.lossParallel,
                            overlapsCollectives: config.asyncTensorParallel))
                } catch let error as ModelError {
                    throw ConfigValueError(error.description)
                }
            }
            // A pipeline's parts are split stage by stage (pipeline/staged, then gpt2_tp, as Modalities' PP × TP config).
            if let parts = model as? PipelineModelParts { return try parts.map(split) }
            return try split(model)
        }
        register(
            "model", "fsdp1_wrapped",
            summary:
                "Modalities' FSDP1 fields on the fsdp2_wrapped engine: sharding_strategy FULL_SHARD, SHARD_GRAD_OP, HYBRID_SHARD (shard within the node) or NO_SHARD",
            config: FSDP1WrappedModelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let model = try context.build(config.model)
            try checkBlockNames(config.blockNames, of: model)
            guard let world = context.run.worldGroup, world.size > 1 else {
                return try Parallelize.apply(
                    to: model, mesh: try DeviceMesh(dataParallelShardDegree: 1, worldSize: 1), world: nil,
                    options: .init(computeDType: config.mixedPrecision.computeDType))
            }
            // FSDP1's strategies as meshes: NO_SHARD replicates over every rank, FULL_SHARD and SHARD_GRAD_OP shard
            // over every rank, the hybrid ones shard among the ranks of a node and replicate across nodes.
            let (replicate, shard): (Int, Int)
            switch config.shardingStrategy {
            case .NO_SHARD:
                (replicate, shard) = (world.size, 1)
            case .FULL_SHARD, .SHARD_GRAD_OP:
                (replicate, shard) = (1, world.size)
            case .HYBRID_SHARD, ._HYBRID_SHARD_ZERO2:
                let perNode = context.run.localWorldSize
                guard perNode >= 1, world.size % perNode == 0 else {
                    throw ConfigValueError(
                        "HYBRID_SHARD needs the world size (\(world.size)) to be a multiple of the ranks per node (LOCAL_WORLD_SIZE=\(perNode))"
                    )
                }
                (replicate, shard) = (world.size / perNode, perNode)
            }
            let mesh = try DeviceMesh(
                deviceType: "cpu", dataParallelReplicateDegree: replicate, dataParallelShardDegree: shard, worldSize: world.size)
            return try Parallelize.apply(
                to: model, mesh: mesh, world: world,
                options: .init(
                    computeDType: config.mixedPrecision.computeDType, reduceDType: config.mixedPrecision.reduceDType,
                    reshardAfterForward: config.shardingStrategy == .FULL_SHARD || config.shardingStrategy == .HYBRID_SHARD))
        }
    }
}

struct FSDP2WrappedModelConfig: DeclaredConfig {
    struct MixedPrecision: Decodable {
        var paramDType: PrecisionName
        var reduceDType: PrecisionName
        enum CodingKeys: String, CodingKey { case paramDType = "param_dtype", reduceDType = "reduce_dtype" }
    }

    @Field("model") var model: ComponentSlot<any Model>
    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>
    @Field("mixed_precision_settings") var mixedPrecision: MixedPrecision
    @Field("block_names") var blockNames: [String]
    @Field("reshard_after_forward") var reshardAfterForward = true
    @Field("layers_per_fsdp_unit", ignored: "each block that block_names names is one FSDP unit")
    var layersPerFSDPUnit: Int? = nil

    func validate() throws {
        if let layersPerFSDPUnit, layersPerFSDPUnit < 1 {
            throw ConfigValueError("layers_per_fsdp_unit must be 1 or greater, found \(layersPerFSDPUnit)")
        }
    }
}

/// Modalities' `GPT2ModelTPConfig`.
struct GPT2TensorParallelConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>
    /// Ours (torchtitan's name; Modalities has no async TP): overlap the sequence-parallel gathers and reduce-scatters
    /// with the column-parallel layers' products and weight gradients.
    @Field("enable_async_tensor_parallel") var asyncTensorParallel = false
}

/// Modalities' FSDP1 wrapper fields (`FSDPWrappedModelConfig`).
struct FSDP1WrappedModelConfig: DeclaredConfig {
    /// Modalities' `MixedPrecisionSettings`: compute (param) and gradient-reduction precisions.
    enum MixedPrecision: String, ConfigEnum {
        case FP_16, BF_16, BF_16_WORKING, FP_32, MIXED_PRECISION_MEGATRON, NO_MIXED_PRECISION

        var computeDType: DType? {
            switch self {
            case .FP_16: return .float16
            case .BF_16, .MIXED_PRECISION_MEGATRON: return .bfloat16
            case .BF_16_WORKING, .FP_32, .NO_MIXED_PRECISION: return nil
            }
        }

        var reduceDType: DType? {
            switch self {
            case .FP_16: return .float16
            case .BF_16, .BF_16_WORKING: return .bfloat16
            case .FP_32, .MIXED_PRECISION_MEGATRON, .NO_MIXED_PRECISION: return nil
            }
        }
    }

    /// PyTorch's `ShardingStrategy` names.
    enum ShardingStrategy: String, ConfigEnum { case FULL_SHARD, SHARD_GRAD_OP, NO_SHARD, HYBRID_SHARD, _HYBRID_SHARD_ZERO2 }

    @Field("model") var model: ComponentSlot<any Model>
    /// Every rank starts from the same parameters here (initialised from the same seed), which is what syncing the
    /// module states achieves.
    @Field("sync_module_states") var syncModuleStates: Bool
    @Field("mixed_precision_settings") var mixedPrecision: MixedPrecision
    @Field("sharding_strategy") var shardingStrategy: ShardingStrategy
    @Field("block_names") var blockNames: [String]
}

/// A clipper's fields; the model may be named `wrapped_model` (FSDP1, older configs) or `model_parts`.
struct DDPWrappedModelConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>?
    @Field("bucket_cap_mb") var bucketCapMB: Double?
}

/// The job's group of all ranks, checked against the size a config expects.
func worldGroup(size: Int, _ context: BuildContext) throws -> ProcessGroup {
    guard let group = context.run.worldGroup else {
        throw ConfigValueError(
            "the config asks for \(size) ranks, but this process was not started as one of them (use modalities launch, torchrun or srun)")
    }
    guard group.size == size else { throw ConfigValueError("the config asks for \(size) data-parallel ranks, the job has \(group.size)") }
    return group
}

/// FSDP wraps the blocks `block_names` lists; model/gpt2's are `GPT2Block`, and a model imported from Hugging Face
/// (`model/huggingface_pretrained_model`) answers to its transformers class too, as Modalities' configs name it for
/// such models (`LlamaDecoderLayer`, `StableLmDecoderLayer`).
func checkBlockNames(_ names: [String], of model: any Model) throws {
    if model.unwrapped(as: CoCa.self) != nil {
        // CoCa's blocks are all wrapped; Modalities' configs name both classes.
        let known = ["VisionTransformerBlock", "TransformerBlock"]
        guard names.contains(where: known.contains) else {
            throw ConfigValueError("block_names is \(names), but model/coca's blocks are \(known)")
        }
        return
    }
    let blockNames = ["GPT2Block", "LlamaDecoderLayer", "StableLmDecoderLayer"]
    if model.unwrapped(as: GPT2LLM.self) != nil, !names.contains(where: blockNames.contains) {
        throw ConfigValueError(
            "block_names is \(names), but this model's blocks are GPT2Block (LlamaDecoderLayer or StableLmDecoderLayer when imported from Hugging Face)"
        )
    }
}
