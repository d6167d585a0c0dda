import ArgumentParser
import Foundation
import Launcher
import Torch
import Training

/// `modalities benchmark train`: tokens/s, MFU and a per-step breakdown of one of the benchmark models.
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Performance measurements, sweeps (prepare_sweep_configs, list_remaining_runs), the planner's accuracy and collectives.",
        subcommands: [
            Train.self, PrepareSweepConfigsCommand.self, ListRemainingRunsCommand.self, PlanAccuracyCommand.self,
            CollectivesBenchmarkCommand.self,
        ])

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Time training steps of a benchmark model; prints one JSON line (compare with Benchmarks/Scripts/pytorch_reference.py).")

        @Option(
            help:
                "A training config: time its step (data wait, forward, backward, gradient sync, optimizer, communication) instead of a preset model's. Runs under `launch` for several ranks."
        )
        var config: String?
        @Option(help: "cpu-small, gpt2-124m or llama-1b.") var model = "cpu-small"
        @Option(help: "fp32 or bf16 (autocast).") var precision = "fp32"
        @Option var steps = 20
        @Option var warmup = 3
        @Option(help: "libtorch threads (default: all cores).") var threads: Int?
        @Flag(name: .customLong("unfused_loss"), help: "PyTorch's cross_entropy instead of the fused one training uses.")
        var unfusedLoss = false
        @Flag(
            help:
                "Also time every libtorch operator of the timed steps and print the 20 largest by self time to stderr (with --config: rank 0's, the whole step)."
        )
        var profile = false
        @Option(help: "cpu, cuda or cuda:N (CUDA is loaded at start-up).") var device = "cpu"
        @Flag(name: .customLong("cuda_graph"), help: "On a GPU, capture the whole step in a CUDA graph and time its replays.")
        var cudaGraph = false

        func run() throws {
            if let config { return try runConfig(config) }
            guard let preset = ThroughputBenchmark.Preset(rawValue: model) else {
                throw ValidationError(
                    "--model must be one of \(ThroughputBenchmark.Preset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard ["fp32", "bf16"].contains(precision) else { throw ValidationError("--precision must be fp32 or bf16") }
            let requested = try DeviceArgument.parse(device)
            guard !cudaGraph || requested.kind == .cuda else { throw ValidationError("--cuda_graph needs --device cuda") }
            let target = try DeviceArgument.prepare(requested)
            try Runtime.start()
            if let threads { Runtime.threadCount = threads }
            var benchmark = ThroughputBenchmark(preset: preset, bf16: precision == "bf16", steps: steps, warmup: warmup)
            benchmark.profile = profile
            benchmark.fusedCrossEntropy = !unfusedLoss
            benchmark.device = target
            benchmark.cudaGraph = cudaGraph
            let result = try benchmark.run()
            if profile { printProfile(result.operators, steps: steps) }
            let cpuPeak = target.kind == .cuda ? nil : try PeakThroughput.cpuPeak()
            let peak =
                try cpuPeak?.flopsPerSecond
                ?? PeakThroughput.gpuFlopsPerSecond(deviceName: CUDA.deviceProperties(target.index ?? 0).name, bf16: precision == "bf16")
            var record: [String: Any] = [
                "implementation": "modalities-swift (libtorch \(Runtime.compiledVersion))", "model": model, "precision": precision,
                "device": "\(target)", "cuda_graph": cudaGraph,
                "threads": Runtime.threadCount, "step_ms": result.stepSeconds * 1000, "forward_ms": result.forwardSeconds * 1000,
                "backward_ms": result.backwardSeconds * 1000, "optimizer_ms": result.optimizerSeconds * 1000,
                "tokens_per_second": result.tokensPerSecond, "mfu": result.tokensPerSecond * result.flopsPerToken / peak,
                "peak_flops": peak,
                "peak_allocator_mb": Double(result.peakBytes) / 1_048_576, "loss": result.finalLoss,
                "cross_entropy": unfusedLoss ? "aten" : "fused",
            ]
            if let median = result.medianStepSeconds { record["step_ms_median"] = median * 1000 }
            if let cpuPeak {
                record["cpu_blas"] = Runtime.cpuBLAS ?? "libtorch"
                record["peak_source"] = cpuPeak.source
                record["peak_theoretical_flops"] = cpuPeak.theoretical ?? -1
                record["peak_measured_gemm_flops"] = cpuPeak.measuredGEMM
            } else {
                record["peak_source"] = "published"
            }
            let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }

        /// `--config`: the config's own step through the training driver, phase by phase.
        func runConfig(_ path: String) throws {
            // The training job loads CUDA itself and takes the rank's GPU.
            let choice: DeviceChoice = try DeviceArgument.parse(device).kind == .cuda ? .cuda : .cpu
            if let threads { Runtime.threadCount = threads }
            var options = TrainingJob.Options(
                configFilePath: path, experimentsRootPath: FileManager.default.temporaryDirectory.path,
                environment: ProcessEnvironment.variables, echoResults: false)
            options.device = choice
            let result = try TrainingJob(options: options).benchmark(steps: steps, warmup: warmup, profile: profile)
            guard (ProcessEnvironment.variables["RANK"].flatMap(Int.init) ?? 0) == 0 else { return }
            if profile { printProfile(result.operators, steps: steps) }
            var record: [String: Any] = [
                "implementation": "modalities-swift (libtorch \(Runtime.compiledVersion))", "config": path, "device": "\(result.device)",
                "ranks": result.ranks, "threads": Runtime.threadCount, "step_ms": result.stepSeconds * 1000,
                "communication_ms": result.communicationSeconds * 1000, "tokens_per_step": result.tokensPerStep,
                "tokens_per_second": result.tokensPerSecond, "mfu": result.mfu, "peak_memory_mb": Double(result.peakBytes) / 1_048_576,
                "loss": result.finalLoss,
            ]
            for (phase, seconds) in result.phaseSeconds { record[phase.rawValue + "_ms"] = seconds * 1000 }
            if !result.communicationSecondsByRank.isEmpty {
                record["communication_ms_by_rank"] = result.communicationSecondsByRank.map { $0 * 1000 }
                record["peak_memory_mb_by_rank"] = result.peakBytesByRank.map { Double($0) / 1_048_576 }
            }
            let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }

        /// The operators with the most self time, per timed training step.
        func printProfile(_ entries: [OperatorProfile.Entry], steps: Int) {
            func column(_ text: String, _ width: Int, left: Bool = false) -> String {
                let padding = String(repeating: " ", count: max(0, width - text.count))
                return left ? text + padding : padding + text
            }
            let total = entries.reduce(0) { $0 + $1.selfSeconds }
            var lines = [
                column("operator (self time)", 52, left: true) + " " + column("calls", 8) + " " + column("ms/step", 10) + " "
                    + column("share", 7)
            ]
            for entry in entries.prefix(20) {
                lines.append(
                    column(String(entry.name.prefix(52)), 52, left: true) + " " + column(String(entry.calls / steps), 8) + " "
                        + column(String(format: "%.2f", entry.selfSeconds * 1000 / Double(steps)), 10) + " "
                        + column(String(format: "%.1f%%", entry.selfSeconds / total * 100), 7))
            }
            lines.append(
                column("all operators", 52, left: true) + " " + column("", 8) + " "
                    + column(String(format: "%.2f", total * 1000 / Double(steps)), 10)
                    + " " + column("100.0%", 7))
            FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}
