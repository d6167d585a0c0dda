import Foundation
import TestSupport
import Testing

/// The steppable profilers in the two places Modalities uses them: `profile distributed` on Modalities' profiling
/// tutorial config (its 8B model shrunk to a CPU's size) on two ranks, and a training config's top-level `profiler`,
/// stepped once per micro batch.
struct ProfilingRunTests {
    /// Modalities' tutorial config with a two-layer, 64-wide model, 64-token sequences and a 1 + 1 + 2 step schedule.
    static func tutorialConfig() throws -> String {
        var text = try String(
            contentsOfFile: ModalitiesRepositoryConfigTests.repository + "/tutorials/profiling/configs/distributed_8B_model_profiling.yaml",
            encoding: .utf8)
        for (from, to) in [
            ("n_layer: 32", "n_layer: 2"), ("n_embd: 4096", "n_embd: 64"), ("n_head_q: 32", "n_head_q: 4"),
            ("n_head_kv: 8", "n_head_kv: 2"),
            ("ffn_hidden: 21248", "ffn_hidden: 128"), ("sequence_length: 4096", "sequence_length: 64"),
            ("num_wait_steps: 5", "num_wait_steps: 1"), ("num_warmup_steps: 5", "num_warmup_steps: 1"),
            ("num_active_steps: 3", "num_active_steps: 2"),
        ] {
            #expect(text.contains(from), "the tutorial config no longer has \(from)")
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    static func chromeTraceNames(_ path: String) throws -> Set<String> {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let events = try #require(json["traceEvents"] as? [[String: Any]])
        return Set(events.compactMap { $0["name"] as? String })
    }

    @Test func profileDistributedTracesEveryTrackedRank() throws {
        let folder = try TrainingJobTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.tutorialConfig().write(toFile: folder + "/profiling.yaml", atomically: true, encoding: .utf8)
        let (status, output) = try Subprocess.run(
            try TrainingJobTests().binary,
            [
                "launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--", "profile", "distributed",
                "--config_file_path", "profiling.yaml", "--experiment_root_path", "experiments", "--device", "cpu",
            ], in: folder)
        #expect(status == 0, "\(output.suffix(3000))")
        #expect(output.contains("[rank 0] profiling 4 steps"), "\(output.suffix(2000))")
        // The config says ${modalities_env:config_folder_path}/kernel_traces: next to the config.
        for rank in 0..<2 {
            let trace = folder + "/kernel_traces/profiler_trace_ranks_2_rank_\(rank).json"
            let names = try Self.chromeTraceNames(trace)
            // A forward and a backward pass of the model: its products and the gradient accumulation.
            #expect(names.contains("aten::mm") && names.contains("torch::autograd::AccumulateGrad"), "\(names.sorted().prefix(40))")
            let summary = try String(contentsOfFile: folder + "/kernel_traces/profiler_summary_ranks_2_rank_\(rank).txt", encoding: .utf8)
            #expect(summary.contains("aten::mm"))
        }
        // Rank 0 keeps the config in the experiment folder.
        let experiments = try FileManager.default.contentsOfDirectory(atPath: folder + "/experiments")
        #expect(experiments.count == 1)
        #expect(FileManager.default.fileExists(atPath: folder + "/experiments/\(experiments[0])/profiling.yaml"))
    }

    /// The tutorial's single-process config, unedited: its norm on bf16 batches of 2 × 4096 × 4096, CUDA activities
    /// asked for on a CPU-only run (a warning, and a CPU trace).
    @Test func theSingleProcessTutorialRunsAsIs() throws {
        let folder = try TrainingJobTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(
            atPath: ModalitiesRepositoryConfigTests.repository + "/tutorials/profiling/configs/single_process_rms_norm_profiling.yaml",
            toPath: folder + "/single_process_rms_norm_profiling.yaml")
        let (status, output) = try Subprocess.run(
            try TrainingJobTests().binary,
            [
                "profile", "single_process", "--config_file_path", "single_process_rms_norm_profiling.yaml", "--experiment_root_path",
                "experiments", "--device", "cpu",
            ], in: folder)
        #expect(status == 0, "\(output.suffix(3000))")
        #expect(output.contains("profiler_activities has CUDA but rank 0 computes on the CPU"), "\(output.suffix(2000))")
        let names = try Self.chromeTraceNames(folder + "/kernel_traces/profiler_trace_ranks_1_rank_0.json")
        // The norm is the shim's fused kernel, recorded under its own operator name.
        #expect(names.contains("modalities::rms_layer_norm"), "\(names.sorted().prefix(40))")
    }

    @Test func aTrainingConfigsProfilerRecordsItsActiveMicroBatches() throws {
        let folder = try TrainingJobTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config =
            try String(contentsOfFile: TrainingJobTests.runConfig, encoding: .utf8)
                + """

                profiler:
                  component_key: steppable_profiler
                  variant_key: combined
                  config:
                    profilers:
                      - component_key: steppable_profiler
                        variant_key: kernel_tracing
                        config:
                          num_wait_steps: 2
                          num_warmup_steps: 1
                          num_active_steps: 2
                          profiler_activities: [CPU]
                          record_shapes: true
                          profile_memory: false
                          with_stack: false
                          with_flops: true
                          with_modules: false
                          tracked_ranks: [0]
                          output_folder_path: \(folder)/traces
                      - component_key: steppable_profiler
                        variant_key: memory_tracing
                        config:
                          memory_snapshot_folder_path: \(folder)/memory
                          num_wait_steps: 1
                          num_warmup_steps: 0
                          num_active_steps: 2
                          tracked_ranks: [0]
                      - component_key: steppable_profiler
                        variant_key: no_profiler
                        config: {}

                """
        try config.write(toFile: folder + "/config.yaml", atomically: true, encoding: .utf8)
        let (status, output) = try DistributedLaunchTests().launch([
            "run", "--config_file_path", folder + "/config.yaml", "--experiments_root_path", folder, "--device", "cpu",
            "--stop_after_steps", "3",
        ])
        #expect(status == 0, "\(output.suffix(3000))")
        let names = try Self.chromeTraceNames(folder + "/traces/profiler_trace_ranks_1_rank_0.json")
        // Micro batches 4 and 5 are recorded: their forward and backward passes.
        #expect(names.contains("aten::mm") && names.contains("torch::autograd::AccumulateGrad"), "\(names.sorted().prefix(40))")
        #expect(FileManager.default.fileExists(atPath: folder + "/traces/profiler_summary_ranks_1_rank_0.txt"))
        let snapshot = try Data(contentsOf: URL(fileURLWithPath: folder + "/memory/memory_snapshot_ranks_1_rank_0.pkl"))
        #expect(snapshot.starts(with: [0x80, 4]) && snapshot.count > 100, "a pickle with the recorded micro batches' events")
    }
}
