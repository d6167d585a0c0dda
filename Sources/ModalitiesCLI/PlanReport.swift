import Config
import Foundation
import Launcher
import Planning

/// The text `modalities plan` prints: one plan in full, or a table over GPU counts.
struct PlanReport {
    var planner: RunPlanner
    var configFile: String

    func single(_ planned: (PlannedConfig, RunPlan)) -> String {
        let (config, plan) = planned
        let layout = plan.layout
        var lines = [header(config)]
        lines.append(
            "layout: \(layout.gpus) GPUs (\(layout.gpusPerNode) per node), \(layout.sharding.rawValue) over \(layout.shardDegree)"
                + (layout.replicaDegree > 1 ? " × \(layout.replicaDegree) replicas" : "")
                + ", TP \(layout.tensorParallelDegree), PP \(layout.pipelineParallelDegree)"
                + (layout.pipelineParallelDegree > 1
                    ? " (\(layout.pipelineMicroBatches) micro-batches, \(layout.pipelineChunksPerRank) chunk(s) per rank)" : "")
                + ", micro-batch \(layout.microBatchSize) × \(layout.gradientAccumulationSteps) accumulation steps"
                + (layout.recomputedFraction > 0 ? String(format: ", %.0f%% of blocks recomputed", 100 * layout.recomputedFraction) : ""))
        lines.append("")
        lines.append("memory per GPU:")
        for (name, bytes) in plan.memory.items { lines.append("  \(pad(name, 26)) \(gib(bytes))") }
        lines.append(
            "  \(pad("total", 26)) \(gib(plan.memory.total)) of \(gib(plan.memoryBytes)): "
                + (plan.fits ? "fits" : "does NOT fit"))
        lines.append("")
        let time = plan.time
        lines.append("step: \(seconds(time.step))")
        lines.append(String(format: "  compute              %@ (at %.0f%% of peak)", seconds(time.compute), 100 * time.efficiency))
        if time.bubble > 0 { lines.append("  pipeline bubble      \(seconds(time.bubble))") }
        lines.append("  exposed comm.        \(seconds(time.exposedCommunication)) (of \(seconds(time.communication)) communication)")
        lines.append("")
        lines.append(
            String(
                format: "throughput: %.4g tokens/s, %.4g tokens/s per GPU, MFU %.3f", plan.tokensPerSecond,
                plan.tokensPerSecond / Double(layout.gpus), plan.mfu))
        if let hours = plan.gpuHours {
            lines.append(
                "run: \(config.targetTokens) target tokens in \(duration(hours / Double(layout.gpus))) wall clock, "
                    + String(format: "%.4g GPU-hours", hours))
        }
        lines += notes(config)
        return lines.joined(separator: "\n") + "\n"
    }

    func table(_ plans: [(Int, Result<(PlannedConfig, RunPlan), Error>)]) -> String {
        var lines: [String] = []
        if let first = plans.lazy.compactMap({ try? $0.1.get() }).first { lines.append(header(first.0)) }
        lines.append("")
        lines.append(
            "| GPUs | layout | memory/GPU | fits | step s | compute s | exposed comm s | tokens/s | MFU | per-GPU scaling | GPU-hours | wall clock |"
        )
        lines.append("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        var base: Double?
        for (count, result) in plans {
            switch result {
            case .failure(let error):
                lines.append("| \(count) | \(message(error)) | | | | | | | | | | |")
            case .success(let (config, plan)):
                let perGPU = plan.tokensPerSecond / Double(count)
                base = base ?? perGPU
                let layout = plan.layout
                let shape =
                    "\(layout.sharding.rawValue) \(layout.shardDegree)" + (layout.replicaDegree > 1 ? "×\(layout.replicaDegree)" : "")
                    + (layout.tensorParallelDegree > 1 ? " TP\(layout.tensorParallelDegree)" : "")
                    + (layout.pipelineParallelDegree > 1 ? " PP\(layout.pipelineParallelDegree)" : "")
                let hours = plan.gpuHours.map { String(format: "%.4g", $0) } ?? "–"
                let wall = plan.gpuHours.map { duration($0 / Double(count)) } ?? "–"
                lines.append(
                    String(
                        format: "| %ld | %@ | %@ | %@ | %.3g | %.3g | %.3g | %.4g | %.3f | %.0f%% | %@ | %@ |", count, shape,
                        gib(plan.memory.total), plan.fits ? "yes" : "NO", plan.time.step, plan.time.compute,
                        plan.time.exposedCommunication, plan.tokensPerSecond, plan.mfu, 100 * perGPU / (base ?? perGPU), hours, wall))
                _ = config
            }
        }
        if let first = plans.lazy.compactMap({ try? $0.1.get() }).first { lines += notes(first.0) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object per line and GPU count: the plan's numbers in seconds and bytes, or the error.
    func json(_ plans: [(Int, Result<(PlannedConfig, RunPlan), Error>)]) throws -> String {
        var lines: [String] = []
        for (count, result) in plans {
            var record: [String: Any] = ["gpus": count]
            switch result {
            case .failure(let error): record["error"] = message(error)
            case .success(let (config, plan)):
                record["parameters"] = config.model.parameterCount
                record["step_seconds"] = plan.time.step
                record["compute_seconds"] = plan.time.compute
                record["bubble_seconds"] = plan.time.bubble
                record["exposed_communication_seconds"] = plan.time.exposedCommunication
                record["communication_seconds"] = plan.time.communication
                record["tokens_per_second"] = plan.tokensPerSecond
                record["mfu"] = plan.mfu
                record["memory_bytes"] = plan.memory.total
                record["fits"] = plan.fits
                record["target_tokens"] = config.targetTokens
                if let hours = plan.gpuHours { record["gpu_hours"] = hours }
            }
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func header(_ config: PlannedConfig) -> String {
        let model = config.model
        let cluster = planner.cluster
        return String(
            format: "%@: %.4gB parameters (%ld layers, width %ld, %ld/%ld heads, sequence %ld) on %@ devices, constants of %@%@",
            configFile, Double(model.parameterCount) / 1e9, model.layerCount, model.embeddingSize, model.queryHeads,
            model.keyValueHeads, model.sequenceLength, planner.deviceName, cluster.name,
            planner.calibrationNote.map { " (\($0))" } ?? "")
    }

    private func notes(_ config: PlannedConfig) -> [String] {
        config.assumptions.isEmpty ? [] : [""] + config.assumptions.map { "assumed: \($0)" }
    }

    private func message(_ error: Error) -> String {
        if let error = error as? ConfigError {
            return error.issues.filter { $0.severity == .error }.map(\.message).joined(separator: "; ")
        }
        return "\(error)"
    }
}

private func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
private func gib(_ bytes: Double) -> String { String(format: "%.1f GiB", bytes / 1_073_741_824) }
private func seconds(_ value: Double) -> String { value < 1 ? String(format: "%.1f ms", value * 1000) : String(format: "%.3g s", value) }
private func duration(_ hours: Double) -> String {
    hours < 1
        ? String(format: "%.0f min", hours * 60) : hours < 48 ? String(format: "%.1f h", hours) : String(format: "%.1f days", hours / 24)
}
