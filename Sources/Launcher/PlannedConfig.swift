import Components
import Config
import Distributed
import Foundation
import ModalitiesSchema
import Models
import Planning

/// What `modalities plan` reads from a training config: the model's shape, the step profile, the target tokens and
/// the parallel layout that its device mesh, model wrappers, activation checkpointing and pipeline declare.
public struct PlannedConfig {
    /// The `model/gpt2` config as building it would read it.
    public var gpt2: GPT2LLMConfig
    public var model: ModelShape
    /// The layout at the GPU count the config was read for.
    public var layout: ParallelLayout
    public var targetTokens: Int
    /// What the reading assumed where the config does not say (printed with the plan).
    public var assumptions: [String]

    /// Reads `configFile` as `run` (or `warmstart`, from `warmstartCheckpointPaths`) would on `gpus` GPUs
    /// (WORLD_SIZE = gpus, rank 0, the other variables from `environment`), without building anything but its number
    /// conversions, and turns it into the planner's inputs.
    /// - Throws: ``ConfigError`` with every problem of the config, or ``PlanningError`` for what the planner does not
    ///   model (a model other than model/gpt2).
    public static func read(
        configFile: String, gpus: Int, gpusPerNode: Int, environment processEnvironment: [String: String] = [:],
        warmstartCheckpointPaths: [(key: String, value: String)]? = nil
    ) throws -> PlannedConfig {
        var variables = processEnvironment
        variables["RANK"] = "0"
        variables["LOCAL_RANK"] = "0"
        variables["WORLD_SIZE"] = "\(gpus)"
        variables["LOCAL_WORLD_SIZE"] = "\(min(gpus, gpusPerNode))"
        variables["MASTER_ADDR"] = variables["MASTER_ADDR"] ?? "localhost"
        variables["MASTER_PORT"] = variables["MASTER_PORT"] ?? "29500"
        let environment = ResolverEnvironment(
            configFilePath: configFile, experimentID: "plan", variables: variables, warmstartCheckpointPaths: warmstartCheckpointPaths)
        var validator = ConfigValidator(registry: .builtIn(), environment: environment)
        validator.buildEnvironment = BuildEnvironment(run: RunContext(worldSize: gpus, localWorldSize: min(gpus, gpusPerNode)))
        let result = try validator.validate(file: configFile)
        guard let settings = result.settings else {
            throw PlanningError.unsupported("\(configFile): the config has no usable settings block")
        }
        let components = ComponentNode.all(in: result.resolved)
        func first(_ component: String, _ variants: String...) -> (node: ComponentNode, keyPath: String)? {
            components.first { $0.node.componentKey == component && variants.contains($0.node.variantKey) }
        }
        guard let modelNode = first("model", "gpt2") else {
            let models = components.filter { $0.node.componentKey == "model" }.map { "model/\($0.node.variantKey)" }
            throw PlanningError.unsupported(
                "\(configFile): plan models GPT2LLM (model/gpt2); this config's models are \(Set(models).sorted().joined(separator: ", "))")
        }
        guard let gpt2 = result.graph.gpt2Configuration(modelNode.node.config, keyPath: modelNode.keyPath + ".config") else {
            throw ConfigError(result.graph.problems)
        }
        var assumptions: [String] = []
        let layout = try readLayout(
            components: components, settings: settings, model: gpt2, gpus: gpus, gpusPerNode: gpusPerNode, assumptions: &assumptions)
        return PlannedConfig(
            gpt2: gpt2, model: ModelShape(gpt2), layout: layout, targetTokens: settings.trainingTarget.numTargetTokens,
            assumptions: assumptions)
    }

    static func readLayout(
        components: [(node: ComponentNode, keyPath: String)], settings: TrainingSettings, model: GPT2LLMConfig, gpus: Int,
        gpusPerNode: Int, assumptions: inout [String]
    ) throws -> ParallelLayout {
        func first(_ component: String, _ variants: String...) -> ConfigNode? {
            components.first { $0.node.componentKey == component && variants.contains($0.node.variantKey) }?.node.config
        }
        func integer(_ node: ConfigNode?, _ key: String, default value: Int) -> Int {
            node?[key]?.scalarText.flatMap { Int($0) } ?? value
        }
        var layout = ParallelLayout(
            gpus: gpus, gpusPerNode: gpusPerNode, sharding: .replicate,
            microBatchSize: settings.stepProfile.localTrainMicroBatchSize,
            gradientAccumulationSteps: settings.stepProfile.gradientAccumulationSteps)
        let mesh = first("device_mesh", "default")
        layout.tensorParallelDegree = integer(mesh, "tensor_parallel_degree", default: 1)
        layout.pipelineParallelDegree = integer(mesh, "pipeline_parallel_degree", default: 1)
        let replicate = integer(mesh, "data_parallel_replicate_degree", default: 1)

        if let fsdp1 = first("model", "fsdp1_wrapped") {
            switch fsdp1["sharding_strategy"]?.scalarText ?? "FULL_SHARD" {
            case "SHARD_GRAD_OP": layout.sharding = .shardGradOp
            case "HYBRID_SHARD": layout.sharding = .hybridShard
            case "NO_SHARD": layout.sharding = .replicate
            default: layout.sharding = .fullShard
            }
            layout.shardGroupSize = layout.sharding == .hybridShard ? min(gpusPerNode, gpus) : nil
            (layout.parameterBytes, layout.reduceBytes) = precisionBytes(fsdp1["mixed_precision_settings"])
        } else if let fsdp2 = first("model", "fsdp2_wrapped") {
            let reshard = fsdp2["reshard_after_forward"]?.scalarText != "false"
            if replicate > 1 {
                layout.sharding = .hybridShard
                layout.shardGroupSize = gpus / (replicate * layout.tensorParallelDegree * layout.pipelineParallelDegree)
            } else {
                layout.sharding = reshard ? .fullShard : .shardGradOp
            }
            (layout.parameterBytes, layout.reduceBytes) = precisionBytes(fsdp2["mixed_precision_settings"])
        } else if first("model", "ddp_wrapped") != nil {
            layout.sharding = .replicate
            (layout.parameterBytes, layout.reduceBytes) = (4, 4)
        } else {
            layout.sharding = .replicate
            (layout.parameterBytes, layout.reduceBytes) = (4, 4)
            if gpus > 1 { assumptions.append("no data-parallel wrapper: gradients all-reduced in float32 as DDP does") }
        }

        if let checkpointed = first("model", "activation_checkpointed") {
            switch checkpointed["ac_variant"]?.scalarText {
            case "selective_layer_activation_checkpointing":
                let frequency = integer(checkpointed["ac_fun_params"], "ac_freq", default: 1)
                layout.recomputedFraction = 1 / Double(max(frequency, 1))
            case "selective_op_activation_checkpointing":
                layout.recomputedFraction = 0.5
                assumptions.append("selective op checkpointing counted as recomputing half of each block")
            default: layout.recomputedFraction = 1
            }
        } else if let checkpointed = first("model", "activation_checkpointed_fsdp1"),
            !(checkpointed["activation_checkpointing_modules"]?.elements ?? []).isEmpty
        {
            layout.recomputedFraction = 1
        }

        if layout.pipelineParallelDegree > 1, let scheduled = first("pipeline", "scheduled") {
            let batch = integer(scheduled, "batch_size", default: layout.microBatchSize)
            let micro = integer(scheduled, "microbatch_size", default: 1)
            layout.pipelineMicroBatches = max(1, batch / max(micro, 1))
            let schedule = (scheduled["pp_schedule_name"]?.scalarText ?? "").lowercased()
            if let staged = first("pipeline", "staged"),
                schedule.contains("interleaved") || schedule.contains("looped") || schedule.contains("zbv")
            {
                let perStage = integer(staged, "num_layers_per_stage", default: model.layerCount)
                let stages = (model.layerCount + 2 + perStage - 1) / max(perStage, 1)
                layout.pipelineChunksPerRank = max(1, stages / layout.pipelineParallelDegree)
            }
        }
        return layout
    }

    /// Bytes of `param_dtype` and `reduce_dtype` of Modalities' mixed-precision settings.
    static func precisionBytes(_ settings: ConfigNode?) -> (Int, Int) {
        func bytes(_ key: String) -> Int {
            switch settings?[key]?.scalarText ?? "FP_32" {
            case "BF_16", "FP_16", "BF_16_WORKING": return 2
            default: return 4
            }
        }
        return (bytes("param_dtype"), bytes("reduce_dtype"))
    }
}

extension RunPlanner {
    /// Reads `configFile` as on `gpus` devices (``PlannedConfig/read(configFile:gpus:gpusPerNode:environment:warmstartCheckpointPaths:)``,
    /// with this planner's devices per node) and plans it.
    public func plan(
        configFile: String, gpus: Int, environment: [String: String] = [:], warmstartCheckpointPaths: [(key: String, value: String)]? = nil
    ) throws -> (config: PlannedConfig, plan: RunPlan) {
        let config = try PlannedConfig.read(
            configFile: configFile, gpus: gpus, gpusPerNode: cluster.gpusPerNode, environment: environment,
            warmstartCheckpointPaths: warmstartCheckpointPaths)
        return (config, try plan(model: config.model, layout: config.layout, targetTokens: config.targetTokens))
    }
}

extension ModelShape {
    /// The planner's view of a GPT2LLM.
    public init(_ config: GPT2LLMConfig) {
        func normParameters(_ norm: GPT2LLMConfig.Norm) -> Int {
            config.embeddingSize * (norm.bias && norm.kind != .pytorchRMSNorm ? 2 : 1)
        }
        self.init(
            layerCount: config.layerCount, embeddingSize: config.embeddingSize, queryHeads: config.queryHeads,
            keyValueHeads: config.keyValueHeads,
            feedForwardHidden: config.activation == .swiglu ? config.swigluHidden : config.ffnHidden,
            gatedFeedForward: config.activation == .swiglu, vocabularySize: config.vocabularySize,
            sequenceLength: config.sequenceLength, bias: config.bias, learnedPositions: config.positionEmbedding == .absolute,
            weightTying: config.weightTying, normParameters: normParameters(config.attentionNorm))
    }
}

extension ComponentNode {
    /// Every component in `root`, depth first, with its key path.
    static func all(in root: ConfigNode, path: String = "") -> [(node: ComponentNode, keyPath: String)] {
        var found: [(node: ComponentNode, keyPath: String)] = []
        if let component = ComponentNode(root) { found.append((component, path)) }
        if let entries = root.entries {
            for entry in entries { found += all(in: entry.node, path: path.isEmpty ? entry.key : path + "." + entry.key) }
        } else if let elements = root.elements {
            for (index, element) in elements.enumerated() { found += all(in: element, path: "\(path)[\(index)]") }
        }
        return found
    }
}
