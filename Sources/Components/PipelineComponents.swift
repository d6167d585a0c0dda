import Config
import Distributed
import Models
import Parallelism
import Training

/// Modalities' pipeline-parallel components: the stages generator, the staged pipeline that splits the model over
/// the mesh's `pp` ranks, the builder that pairs the stages with their wrapped model parts, the scheduled pipeline
/// that adds PyTorch's schedule, and the selector that hands one of them to the next component.
struct GPT2StagesGeneratorConfig: DeclaredConfig {
    @Field("num_model_layers") var numModelLayers: Int
    @Field("input_layer_equivalence") var inputLayerEquivalence = 1
    @Field("output_layer_equivalence") var outputLayerEquivalence = 1

    func generator() throws -> PipelineStagesGenerator {
        do {
            return try PipelineStagesGenerator(
                layerCount: numModelLayers, inputLayerEquivalence: inputLayerEquivalence, outputLayerEquivalence: outputLayerEquivalence)
        } catch let error as ParallelismError {
            throw ConfigValueError(error.description)
        }
    }

    func validate() throws { _ = try generator() }
}

struct StagedPipelineConfig: DeclaredConfig {
    @Field("whole_model") var wholeModel: ComponentSlot<any Model>
    @Field("stages_generator") var stagesGenerator: ComponentSlot<PipelineStagesGenerator>
    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>
    @Field("local_rank") var localRank: Int
    @Field("pp_schedule_name") var scheduleName: String
    @Field("num_layers_per_stage") var layersPerStage: Int

    func validate() throws {
        if localRank < 0 { throw ConfigValueError("local_rank must be 0 or greater, found \(localRank)") }
        if layersPerStage < 1 { throw ConfigValueError("num_layers_per_stage must be 1 or greater, found \(layersPerStage)") }
        _ = try scheduleKind(scheduleName)
    }
}

struct PipelineSelectorConfig: DeclaredConfig {
    /// Modalities' `PipelineSelectionTypes`.
    enum SelectionType: String, ConfigEnum { case PP_STAGE, MODEL_PART, PP_SCHEDULE }

    @Field("pipeline") var pipeline: ComponentSlot<Pipeline>
    @Field("selection_type") var selectionType: SelectionType
}

/// Modalities' `PipelineConfig`; `pp_stage` and `model_part` are its deprecated names for the first two fields.
struct PipelineBuilderConfig: DeclaredConfig {
    @Field("pp_stages") var stages: ComponentSlot<PipelineStages>?
    /// Modalities' deprecated name for `pp_stages`.
    @Field("pp_stage") var deprecatedStages: ComponentSlot<PipelineStages>?
    @Field("model_parts") var modelParts: ComponentSlot<any Model>?
    /// Modalities' deprecated name for `model_parts`.
    @Field("model_part") var deprecatedModelParts: ComponentSlot<any Model>?
    @Field("pp_schedule") var schedule: ComponentSlot<Pipeline>?

    func validate() throws {
        for (name, given) in [
            ("pp_stages", [stages != nil, deprecatedStages != nil]), ("model_parts", [modelParts != nil, deprecatedModelParts != nil]),
        ] {
            let count = given.filter { $0 }.count
            if count != 1 {
                throw ConfigValueError(
                    count == 0 ? "\(name) is required" : "\(name) is given twice (once under its deprecated name \(name.dropLast()))")
            }
        }
    }
}

struct ScheduledPipelineConfig: DeclaredConfig {
    @Field("loss_fn") var loss: ComponentSlot<any Loss>
    @Field("pp_schedule_name") var scheduleName: String
    @Field("batch_size") var batchSize: Int
    @Field("microbatch_size") var microBatchSize: Int
    @Field("pp_degree") var pipelineDegree: Int
    @Field("pipeline") var pipeline: ComponentSlot<Pipeline>

    func validate() throws {
        if batchSize < 1 || microBatchSize < 1 {
            throw ConfigValueError("batch_size and microbatch_size must be 1 or greater, found \(batchSize) and \(microBatchSize)")
        }
        if batchSize % microBatchSize != 0 {
            throw ConfigValueError("batch_size \(batchSize) does not split into micro batches of microbatch_size \(microBatchSize)")
        }
        if pipelineDegree < 2 { throw ConfigValueError("pp_degree must be 2 or greater, found \(pipelineDegree)") }
        _ = try scheduleKind(scheduleName)
    }
}

/// The schedule `pp_schedule_name` names, as a config error when it names none this version runs.
func scheduleKind(_ name: String) throws -> PipelineSchedule.Kind {
    do {
        return try PipelineSchedule.Kind(name: name)
    } catch let error as ParallelismError {
        throw ConfigValueError(error.description)
    }
}

extension ComponentRegistry {
    func registerPipelineComponents() {
        register(
            "stages_generator", "gpt2_stages_generator",
            summary:
                "splits model/gpt2 into stages of num_layers_per_stage layers, the embeddings and the head counting as input/output_layer_equivalence layers",
            config: GPT2StagesGeneratorConfig.self, produces: [PipelineStagesGenerator.self]
        ) { config, _ in try config.generator() }
        register(
            "pipeline", "staged",
            summary:
                "this rank's stages of whole_model over the mesh's pp ranks (stage r, r + pp, … under interleaved schedules), each a model part with the whole model's parameter names",
            config: StagedPipelineConfig.self, produces: [Pipeline.self]
        ) { config, context in
            let mesh = try context.build(config.deviceMesh)
            let degree = mesh.degree(of: [.pp])
            guard degree > 1 else {
                throw ConfigValueError("device_mesh has no pp dimension (pipeline_parallel_degree is 1); pipeline/staged needs one")
            }
            guard let whole = try context.build(config.wholeModel) as? GPT2LLM else {
                throw ConfigValueError("pipeline/staged splits a model/gpt2 directly (before gpt2_tp, fsdp2_wrapped and model_initialized)")
            }
            do {
                let layouts = try context.build(config.stagesGenerator).layouts(
                    layersPerStage: config.layersPerStage, pipelineDegree: degree)
                let kind = try scheduleKind(config.scheduleName)
                // Any valid micro batch count places the stages; pipeline/scheduled checks the configured one.
                let placement = try PipelineSchedule(kind: kind, ranks: degree, stageCount: layouts.count, microBatches: degree)
                let group = try mesh.group([.pp], of: try worldGroup(size: mesh.worldSize, context))
                let local = placement.stages(of: group.rank).map { layouts[$0] }
                let parts = try local.map { try whole.splitForPipeline($0) }
                return try Pipeline(
                    stages: PipelineStages(
                        layouts: local, transport: ProcessGroupPipelineTransport(group: group, device: context.run.device),
                        scheduleKind: kind),
                    modelParts: PipelineModelParts(parts: parts, layouts: local, group: group, wholeParameterCount: whole.parameterCount))
            } catch let error as ParallelismError {
                throw ConfigValueError(error.description)
            } catch let error as ModelError {
                throw ConfigValueError(error.description)
            }
        }
        register(
            "pipeline", "selector",
            summary:
                "one part of a pipeline: its stages (PP_STAGE), its model parts as the model (MODEL_PART) or the scheduled pipeline (PP_SCHEDULE)",
            config: PipelineSelectorConfig.self, produces: [PipelineStages.self, (any Model).self, Pipeline.self]
        ) { config, context -> Any in
            let pipeline = try context.build(config.pipeline)
            switch config.selectionType {
            case .PP_STAGE: return pipeline.stages
            case .MODEL_PART: return pipeline.modelParts as any Model
            case .PP_SCHEDULE:
                guard pipeline.scheduled != nil else {
                    throw ConfigValueError("selection_type PP_SCHEDULE needs a pipeline/scheduled pipeline; this one has no schedule yet")
                }
                return pipeline
            }
        }
        register(
            "pipeline", "builder",
            summary: "pairs a pipeline's stages with their model parts after wrapping (gpt2_tp, fsdp2_wrapped), for pipeline/scheduled",
            config: PipelineBuilderConfig.self, produces: [Pipeline.self]
        ) { config, context in
            let stages = try context.build((config.stages ?? config.deprecatedStages)!)
            guard let parts = try context.build((config.modelParts ?? config.deprecatedModelParts)!) as? PipelineModelParts else {
                throw ConfigValueError(
                    "model_parts must be a pipeline's model parts (pipeline/selector with selection_type MODEL_PART, then its wrappers)")
            }
            do {
                return try Pipeline(stages: stages, modelParts: parts, scheduled: try context.build(config.schedule)?.scheduled)
            } catch let error as ParallelismError {
                throw ConfigValueError(error.description)
            }
        }
        register(
            "pipeline", "scheduled",
            summary:
                "a pipeline with PyTorch's schedule pp_schedule_name (GPipe, 1F1B, Interleaved1F1B, LoopedBFS) over batch_size / microbatch_size micro batches, the loss on the last stage",
            config: ScheduledPipelineConfig.self, produces: [Pipeline.self]
        ) { config, context in
            let pipeline = try context.build(config.pipeline)
            let loss = try context.build(config.loss)
            let layouts = pipeline.stages.layouts
            guard config.pipelineDegree == pipeline.stages.transport.size else {
                throw ConfigValueError(
                    "pp_degree is \(config.pipelineDegree), but the pipeline's stages span \(pipeline.stages.transport.size) ranks (device_mesh's pipeline_parallel_degree)"
                )
            }
            let kind = try scheduleKind(config.scheduleName)
            guard kind == pipeline.stages.scheduleKind else {
                throw ConfigValueError(
                    "pp_schedule_name is \(kind.rawValue), but pipeline/staged placed the stages for \(pipeline.stages.scheduleKind.rawValue)"
                )
            }
            do {
                let schedule = try PipelineSchedule(
                    kind: kind, ranks: config.pipelineDegree, stageCount: layouts[0].count,
                    microBatches: config.batchSize / config.microBatchSize)
                let stages = zip(layouts, pipeline.modelParts.parts).map { PipelineStage(layout: $0, model: $1) }
                let scheduled = try ScheduledPipeline(schedule: schedule, stages: stages, transport: pipeline.stages.transport) {
                    predictions, targets, vocabularyParallel in
                    try loss(predictions: predictions, targets: targets, vocabularyParallel: vocabularyParallel)
                }
                return try Pipeline(stages: pipeline.stages, modelParts: pipeline.modelParts, scheduled: scheduled)
            } catch let error as ParallelismError {
                throw ConfigValueError(error.description)
            }
        }
    }
}
