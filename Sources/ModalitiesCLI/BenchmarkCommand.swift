import ArgumentParser
import Foundation
import Torch
import Training

/// `modalities benchmark train`: tokens/s, MFU and a per-step breakdown of one of the benchmark models.
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark", abstract: "Performance measurements and sweeps (prepare_sweep_configs, list_remaining_runs).", subcommands: [Train.self, PrepareSweepConfigsCommand.self, ListRemainingRunsCommand.self])

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time training steps of a benchmark model; prints one JSON line (compare with bench/pytorch_reference.py).")

        @Option(help: "cpu-small, gpt2-124m or llama-1b.") var model = "cpu-small"
        @Option(help: "fp32 or bf16 (autocast).") var precision = "fp32"
        @Option var steps = 20
        @Option var warmup = 3
        @Option(help: "libtorch threads (default: all cores).") var threads: Int?

        func run() throws {
            guard let preset = ThroughputBenchmark.Preset(rawValue: model) else {
                throw ValidationError("--model must be one of \(ThroughputBenchmark.Preset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard ["fp32", "bf16"].contains(precision) else { throw ValidationError("--precision must be fp32 or bf16") }
            try Runtime.start()
            if let threads { Runtime.threadCount = threads }
            let result = try ThroughputBenchmark(preset: preset, bf16: precision == "bf16", steps: steps, warmup: warmup).run()
            let peak = try PeakThroughput.cpuFlopsPerSecond()
            let record: [String: Any] = [
                "implementation": "modalities-swift (libtorch \(Runtime.compiledVersion))", "model": model, "precision": precision,
                "threads": Runtime.threadCount, "step_ms": result.stepSeconds * 1000, "forward_ms": result.forwardSeconds * 1000,
                "backward_ms": result.backwardSeconds * 1000, "optimizer_ms": result.optimizerSeconds * 1000,
                "tokens_per_second": result.tokensPerSecond, "mfu": result.tokensPerSecond * result.flopsPerToken / peak,
                "peak_allocator_mb": Double(result.peakBytes) / 1_048_576, "loss": result.finalLoss,
            ]
            let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
