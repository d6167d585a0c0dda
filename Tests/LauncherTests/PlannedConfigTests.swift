import Config
import Foundation
import Launcher
import Models
import Planning
import TestSupport
import Testing

/// `modalities plan` reads Modalities' own configs: the model as building it would, the layout from the mesh, the
/// wrappers and the pipeline.
@Suite struct PlannedConfigTests {
    static func config(_ name: String) -> String { TestData.path("modalities-repo/config_files/training/\(name)") }

    /// The planner's parameter count is the built model's (GQA, SwiGLU's adjusted width, RMSNorm, untied head).
    @Test func theShapeCountsTheParametersTheBuiltModelHas() throws {
        let planned = try PlannedConfig.read(configFile: Self.config("config_lorem_ipsum_long_fsdp2_pp_tp.yaml"), gpus: 8, gpusPerNode: 4)
        let model = try GPT2LLM(config: planned.gpt2)
        #expect(planned.model.parameterCount == model.parameterCount)
        #expect(planned.model.keyValueHeads == 4 && planned.model.gatedFeedForward)
        #expect(planned.layout.sharding == .fullShard)
        #expect((planned.layout.parameterBytes, planned.layout.reduceBytes) == (2, 2))
    }

    @Test func theMeshAndThePipelineGiveTheLayout() throws {
        let planned = try PlannedConfig.read(configFile: Self.config("config_lorem_ipsum_long_fsdp2_pp_tp.yaml"), gpus: 8, gpusPerNode: 4)
        let layout = planned.layout
        #expect((layout.tensorParallelDegree, layout.pipelineParallelDegree, layout.shardDegree) == (2, 2, 2))
        // pipeline/scheduled: batch_size 4 in micro-batches of 2.
        #expect(layout.pipelineMicroBatches == 2)
        // num_tokens_from_num_steps over the mesh's data-parallel degree.
        #expect(planned.targetTokens % (layout.dataParallelDegree * layout.microBatchSize * planned.model.sequenceLength) == 0)
    }

    @Test func aModelThePlannerDoesNotKnowIsAClearError() throws {
        let error = #expect(throws: ConfigError.self) {
            try PlannedConfig.read(configFile: Self.config("config_example_coca.yaml"), gpus: 8, gpusPerNode: 4)
        }
        #expect(error?.issues.contains { $0.message.contains("model/coca") } == true)
    }

    @Test func thePlanCommandPrintsATableOverGPUCounts() throws {
        let (status, output) = try DistributedLaunchTests().launch([
            "plan", "--config_file_path", Self.config("config_lorem_ipsum_long_fsdp2_pp_tp.yaml"), "--gpus", "4,8,6", "--gpu", "h100",
        ])
        #expect(status == 0, "\(output)")
        let rows = output.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| GPUs") }
        #expect(rows.count == 3)
        #expect(rows[1].hasPrefix("| 8 | FULL_SHARD 2 TP2 PP2 |"), "\(output)")
        // 6 GPUs do not split into TP 2 × PP 2: that row says why, the others stand.
        #expect(rows[2].contains("must equal world_size (6)"), "\(output)")
    }

    @Test(arguments: [
        (["--gpus", "0"], "--gpus takes GPU counts from 1 to 1000000"),
        (["--gpus", "8,x"], "found 'x'"),
        (["--gpus", "8", "--gpu", "tpu"], "--gpu must be one of a100, h100, h200, b200"),
        (["--gpus", "8", "--gpu_memory_gib=-1"], "--gpu_memory_gib must be a positive number"),
    ])
    func badArgumentsAreRefusedNamingTheFlag(_ flags: [String], _ message: String) throws {
        var arguments = ["plan", "--config_file_path", Self.config("config_lorem_ipsum_long_fsdp2.yaml")] + flags
        if !flags.contains("--gpu") { arguments += ["--gpu", "a100"] }
        let (status, output) = try DistributedLaunchTests().launch(arguments)
        #expect(status != 0 && output.contains(message), "\(output)")
    }
}
