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
        // CoCa trains (model/coca), but the planner's shapes are GPT2LLM's: it says so, naming the config's models.
        let error = #expect(throws: PlanningError.self) {
            try PlannedConfig.read(configFile: Self.config("config_example_coca.yaml"), gpus: 8, gpusPerNode: 4)
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("this config's models are model/coca"))
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

    /// Every reference training config of Modalities main, planned from the repository folder as a user runs them, at
    /// the world size it is written for (warmstarts from the last_checkpoint_info.json a run would have left).
    @Test(
        arguments: [
            ("config_lorem_ipsum_long_fsdp1.yaml", 8, nil),
            (
                "config_lorem_ipsum_long_fsdp1_warmstart.yaml", 2,
                "eid_x-model-seen_steps_32-seen_tokens_32768-target_steps_650-target_tokens_665600.bin"
            ),
            ("config_lorem_ipsum_long_fsdp2.yaml", 8, nil),
            ("config_lorem_ipsum_long_fsdp2_pp.yaml", 8, nil),
            ("config_lorem_ipsum_long_fsdp2_pp_tp.yaml", 8, nil),
            (
                "config_lorem_ipsum_long_fsdp2_warmstart.yaml", 4,
                "eid_x-seen_steps_32-seen_tokens_65536-target_steps_325-target_tokens_665600"
            ),
        ] as [(String, Int, String?)])
    func everyReferenceTrainingConfigIsPlanned(_ name: String, _ gpus: Int, _ checkpoint: String?) throws {
        let scratch = NSTemporaryDirectory() + "plan-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var arguments = ["plan", "--config_file_path", "config_files/training/" + name, "--gpus", "\(gpus)", "--gpu", "a100", "--json"]
        if let checkpoint {
            let key = checkpoint.hasSuffix(".bin") ? "model_checkpoint_path" : "checkpoint_folder_path"
            var info = [key: scratch + "/" + checkpoint]
            if key == "model_checkpoint_path" {
                info["optimizer_checkpoint_path"] = scratch + "/" + checkpoint.replacingOccurrences(of: "-model-", with: "-optimizer-")
            }
            try JSONSerialization.data(withJSONObject: info).write(to: URL(fileURLWithPath: scratch + "/info.json"))
            arguments += ["--last_checkpoint_info_file_path", scratch + "/info.json"]
        }
        let (status, output) = try Subprocess.run(
            try TrainingJobTests().binary, arguments, in: TestData.path("modalities-repo"))
        #expect(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").last { $0.hasPrefix("{") })
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((record["step_seconds"] as? Double ?? 0) > 0, "\(record)")
        #expect((record["tokens_per_second"] as? Double ?? 0) > 0, "\(record)")
        #expect(record["fits"] as? Bool == true)
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
