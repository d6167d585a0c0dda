import Config
import Distributed
import Models
import Parallelism
import Testing

/// The pipeline components' bad input: config errors that name the field and the numbers, before any rank is
/// contacted (this process is rank 0 of a world it has no group for).
struct PipelineComponentTests {
    func error(
        pipeline: Int, layersPerStage: Int = 2, schedule: String = "1F1B", batchSize: Int = 4, microBatchSize: Int = 2,
        build key: String = "scheduled_pipeline"
    ) throws -> String {
        let yaml =
            ModelComponentTests.yaml + """

                device_mesh:
                  component_key: device_mesh
                  variant_key: default
                  config:
                    device_type: cpu
                    data_parallel_shard_degree: 1
                    pipeline_parallel_degree: \(pipeline)
                    world_size: \(pipeline)
                staged_pipeline:
                  component_key: pipeline
                  variant_key: staged
                  config:
                    whole_model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    stages_generator:
                      component_key: stages_generator
                      variant_key: gpt2_stages_generator
                      config:
                        num_model_layers: ${model_raw.config.n_layer}
                    device_mesh: {instance_key: device_mesh, pass_type: BY_REFERENCE}
                    local_rank: 0
                    pp_schedule_name: \(schedule)
                    num_layers_per_stage: \(layersPerStage)
                scheduled_pipeline:
                  component_key: pipeline
                  variant_key: scheduled
                  config:
                    loss_fn:
                      component_key: loss
                      variant_key: clm_cross_entropy_loss
                      config: {target_key: target_ids, prediction_key: logits}
                    pp_schedule_name: \(schedule)
                    batch_size: \(batchSize)
                    microbatch_size: \(microBatchSize)
                    pp_degree: \(pipeline)
                    pipeline:
                      component_key: pipeline
                      variant_key: builder
                      config:
                        pp_stages:
                          component_key: pipeline
                          variant_key: selector
                          config:
                            pipeline: {instance_key: staged_pipeline, pass_type: BY_REFERENCE}
                            selection_type: PP_STAGE
                        model_parts:
                          component_key: pipeline
                          variant_key: selector
                          config:
                            pipeline: {instance_key: staged_pipeline, pass_type: BY_REFERENCE}
                            selection_type: MODEL_PART
                """
        let graph = try RunContextTests().graph(yaml, run: RunContext(rank: 0, worldSize: pipeline))
        let error = #expect(throws: (any Error).self) { try graph.build(key, as: Pipeline.self) }
        return error.map { "\($0)" } ?? ""
    }

    @Test func aMeshWithoutAPipelineDimensionIsRefused() throws {
        let message = try error(pipeline: 1, build: "staged_pipeline")
        #expect(message.contains("device_mesh has no pp dimension (pipeline_parallel_degree is 1)"), "\(message)")
    }

    @Test func stagesThatDoNotSpreadOverTheRanksAreRefusedWithTheCounts() throws {
        // 2 layers + embeddings + head, 3 per stage: 2 stages, not divisible by 4 ranks.
        let message = try error(pipeline: 4, layersPerStage: 3, build: "staged_pipeline")
        #expect(message.contains("2 pipeline stages") && message.contains("pipeline_parallel_degree 4"), "\(message)")
    }

    @Test func aSingleStageScheduleWithSeveralStagesPerRankIsRefused() throws {
        let message = try error(pipeline: 2, layersPerStage: 1, schedule: "GPipe", build: "staged_pipeline")
        #expect(message.contains("GPipe runs one stage per rank, but there are 4 stages for 2 ranks"), "\(message)")
    }

    @Test func microBatchesThatDoNotDivideTheBatchAreAConfigError() throws {
        let message = try error(pipeline: 2, batchSize: 3, microBatchSize: 2)
        #expect(message.contains("batch_size 3 does not split into micro batches of microbatch_size 2"), "\(message)")
        #expect(message.contains("scheduled_pipeline"), "\(message)")
    }

    @Test func anUnknownScheduleListsPyTorchsNames() throws {
        let message = try error(pipeline: 2, schedule: "Zigzag")
        #expect(
            message.contains("unknown pp_schedule_name 'Zigzag'") && message.contains("GPipe, 1F1B, Interleaved1F1B, LoopedBFS"),
            "\(message)")
    }
}
