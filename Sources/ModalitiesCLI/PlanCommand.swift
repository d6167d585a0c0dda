import ArgumentParser
import Config
import Foundation
import Launcher
import Planning

/// `modalities plan`: a training config's per-GPU memory, step time, throughput, MFU and GPU-hours on a number of
/// GPUs, before the run is spent.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Predict a training config's memory per GPU, step time, tokens/s, MFU and GPU-hours on N GPUs.",
        discussion: """
            The model (BENCHMARKS.md, "Run planner") counts the config's FLOPs at an efficiency that grows with the \
            per-GPU work and each collective of its layout (FSDP, HSDP, DDP, TP, PP) with a latency-bandwidth cost per \
            level; its constants were fitted on the small runs of Modalities' scaling tables (Leonardo A100, \
            MareNostrum 5 H100). H200 and B200 use the H100 constants scaled by their peak.
            """)

    @Option(name: .customLong("config_file_path"), help: "The training config.") var configFilePath: String
    @Option(help: "GPU counts, one or a comma-separated list (8,16,32,...).") var gpus: String
    @Option(help: "a100, h100, h200, b200, or cpu (ranks on this machine's cores: give the three --cpu/--gloo measurements).")
    var gpu: String
    @Option(name: .customLong("gpus_per_node"), help: "GPUs per node (default: 4, as on the calibrated clusters).")
    var gpusPerNode: Int?
    @Option(name: .customLong("intra_node_gbps"), help: "NVLink bus bandwidth per GPU in Gbit/s (default: the GPU's).")
    var intraNodeGbps: Double?
    @Option(name: .customLong("inter_node_gbps"), help: "Network bandwidth per GPU in Gbit/s (default: the calibrated effective value).")
    var interNodeGbps: Double?
    @Option(name: .customLong("gpu_memory_gib"), help: "Memory of one GPU in GiB (default: 64 for A100/H100, 141 H200, 180 B200).")
    var gpuMemoryGiB: Double?

    @Option(
        name: .customLong("last_checkpoint_info_file_path"),
        help: "For a warmstart config: the last_checkpoint_info.json warmstart would read (the remaining tokens follow from it).")
    var lastCheckpointInfoFilePath: String?

    @Option(
        name: .customLong("single_rank_step_ms"),
        help: "With --gpu cpu: the config's step time on one rank (`benchmark train --config`), its compute rate.")
    var singleRankStepMilliseconds: Double?
    @Option(
        name: .customLong("gloo_step_latency_us"),
        help: "With --gpu cpu: microseconds per ring step (`collectives_check --gloo_constants`).")
    var glooStepLatencyMicroseconds: Double?
    @Option(name: .customLong("gloo_gbps"), help: "With --gpu cpu: Gloo bandwidth in Gbit/s (`collectives_check --gloo_constants`).")
    var glooGbps: Double?

    @Flag(help: "Print one JSON object per GPU count instead of the report.") var json = false

    func validate() throws {
        _ = try gpuCounts()
        _ = try accelerator()
        if let gpusPerNode, gpusPerNode < 1 { throw ValidationError("--gpus_per_node must be at least 1, found \(gpusPerNode)") }
        for (name, value) in [
            ("--intra_node_gbps", intraNodeGbps), ("--inter_node_gbps", interNodeGbps), ("--gpu_memory_gib", gpuMemoryGiB),
        ] {
            if let value, !(value.isFinite && value > 0) { throw ValidationError("\(name) must be a positive number, found \(value)") }
        }
    }

    func gpuCounts() throws -> [Int] {
        let parts = gpus.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { part in
            guard let count = Int(part), count >= 1, count <= 1_000_000 else {
                throw ValidationError("--gpus takes GPU counts from 1 to 1000000 separated by commas, found '\(part)'")
            }
            return count
        }
    }

    func accelerator() throws -> Accelerator? {
        if gpu.lowercased() == "cpu" { return nil }
        guard let accelerator = Accelerator(rawValue: gpu.lowercased()) else {
            throw ValidationError(
                "--gpu must be one of \(Accelerator.allCases.map(\.rawValue).joined(separator: ", ")) or cpu, found '\(gpu)'")
        }
        return accelerator
    }

    func run() throws {
        var checkpointPaths: [(key: String, value: String)]?
        if let lastCheckpointInfoFilePath {
            do {
                checkpointPaths = try TrainingJob.readCheckpointInfo(lastCheckpointInfoFilePath)
            } catch {
                throw ValidationError("--last_checkpoint_info_file_path: \(error)")
            }
        }
        let planner = try makePlanner(checkpointPaths: checkpointPaths)
        let counts = try gpuCounts()
        var plans: [(Int, Result<(PlannedConfig, RunPlan), Error>)] = []
        for count in counts {
            plans.append(
                (
                    count,
                    Result {
                        try planner.plan(
                            configFile: configFilePath, gpus: count, environment: ProcessEnvironment.variables,
                            warmstartCheckpointPaths: checkpointPaths)
                    }
                ))
        }
        if plans.allSatisfy({ if case .failure = $0.1 { true } else { false } }), case .failure(let error) = plans[0].1 {
            throw report(error)
        }
        let text = PlanReport(planner: planner, configFile: configFilePath)
        if json { return print(try text.json(plans), terminator: "") }
        print(counts.count == 1 ? try text.single(plans[0].1.get()) : text.table(plans), terminator: "")
    }

    /// The planner for `--gpu`: a calibrated GPU with the bandwidth and memory flags applied, or this machine's CPU
    /// ranks from the measured single-rank step and Gloo constants.
    func makePlanner(checkpointPaths: [(key: String, value: String)]?) throws -> RunPlanner {
        guard let accelerator = try accelerator() else {
            let single: PlannedConfig
            do {
                single = try PlannedConfig.read(
                    configFile: configFilePath, gpus: 1, gpusPerNode: 1, environment: ProcessEnvironment.variables,
                    warmstartCheckpointPaths: checkpointPaths)
            } catch {
                throw report(error)
            }
            let rate = RunPlanner.cpuFlopsPerSecond(
                model: single.model, layout: single.layout, stepSeconds: singleRankStepMilliseconds! / 1000)
            let memory = gpuMemoryGiB.map { $0 * 1_073_741_824 } ?? Double(ProcessInfo.processInfo.physicalMemory)
            return RunPlanner.cpu(
                machineFlopsPerSecond: rate, glooStepLatency: glooStepLatencyMicroseconds! / 1e6, glooBandwidth: glooGbps! * 1e9 / 8,
                memoryBytes: memory)
        }
        var cluster = accelerator.cluster
        let perNode = gpusPerNode ?? cluster.gpusPerNode
        cluster.gpusPerNode = perNode
        if let intraNodeGbps { cluster.intraNodeBandwidth = intraNodeGbps * 1e9 / 8 }
        if let interNodeGbps { cluster.interNodeBandwidth = interNodeGbps * 1e9 / 8 * Double(perNode) }
        return RunPlanner(accelerator: accelerator, cluster: cluster, memoryBytes: gpuMemoryGiB.map { $0 * 1_073_741_824 })
    }

    private func report(_ error: Error) -> Error {
        if let error = error as? ConfigError {
            for issue in error.issues { note(issue.description) }
            return ExitCode(2)
        }
        return error
    }
}

extension RunPlanner {
    /// The planner for a calibrated GPU named on the command line by `flag` (`--plan_gpu h100`).
    init(gpuFlag flag: String, _ name: String) throws {
        guard let accelerator = Accelerator(rawValue: name.lowercased()) else {
            throw ValidationError("\(flag) must be one of \(Accelerator.allCases.map(\.rawValue).joined(separator: ", ")), found '\(name)'")
        }
        self.init(accelerator: accelerator)
    }
}
