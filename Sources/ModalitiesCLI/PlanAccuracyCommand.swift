import ArgumentParser
import Foundation
import Planning

/// `modalities benchmark plan_accuracy`: fits the planner's constants on the small runs of Modalities' scaling
/// tables and measures its error on the large ones (BENCHMARKS.md, "Run planner").
struct PlanAccuracyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan_accuracy",
        abstract:
            "Fit the run planner's constants on the small-GPU-count rows of Modalities' scaling tables and report its error on the large ones."
    )

    @Option(
        name: .customLong("tables"), parsing: .upToNextOption,
        help: "Scaling tables (Markdown, as in Modalities' docs/scaling_experiments/), one per cluster.")
    var tables: [String]
    @Option(name: .customLong("fit_at_most"), help: "Fit on the rows with at most this many GPUs.") var fitAtMost = 16
    @Option(name: .customLong("held_out_at_least"), help: "Measure the error on the rows with at least this many GPUs.")
    var heldOutAtLeast = 64

    @Flag(name: .customLong("per_row"), help: "Also print every held-out row: measured and predicted MFU.") var perRow = false

    func validate() throws {
        guard !tables.isEmpty else { throw ValidationError("--tables needs at least one file") }
        guard fitAtMost > 0, heldOutAtLeast > fitAtMost else {
            throw ValidationError("--held_out_at_least (\(heldOutAtLeast)) must be larger than --fit_at_most (\(fitAtMost)), both positive")
        }
    }

    func run() throws {
        for file in tables {
            let rows = try ScalingTable.read(file: file)
            guard let gpuType = rows.first?.gpuType else { throw ValidationError("\(file): the table has no rows") }
            guard let accelerator = Accelerator.allCases.first(where: { gpuType.lowercased().contains($0.rawValue) }) else {
                throw ValidationError("\(file): GPU type '\(gpuType)' is not one of \(Accelerator.allCases.map(\.rawValue))")
            }
            let stored = accelerator.cluster
            let report = try Calibration.report(
                rows: rows, accelerator: accelerator, start: stored, fitAtMost: fitAtMost, heldOutAtLeast: heldOutAtLeast)
            let storedAccuracy = try Calibration.accuracy(
                of: RunPlanner(accelerator: accelerator), on: rows.filter { $0.gpus >= heldOutAtLeast })
            let c = report.constants
            print("\(file): \(rows.count) rows, \(gpuType), constants of \(stored.name)")
            print(
                String(
                    format:
                        "  fitted on %ld rows with <= %ld GPUs: peakEfficiency %.4g, halfEfficiencyWork %.4g, interNodeStepLatency %.4g, overlap %.4g, interNodeBandwidth %.4g",
                    report.fitted.rows, fitAtMost, c.peakEfficiency, c.halfEfficiencyWork, c.interNodeStepLatency, c.overlap,
                    c.interNodeBandwidth))
            print(line("fit rows", report.fitted))
            print(line("held-out rows (>= \(heldOutAtLeast) GPUs)", report.heldOut))
            print(line("held-out rows, the constants in ClusterConstants.swift", storedAccuracy))
            guard perRow else { continue }
            let planner = RunPlanner(accelerator: accelerator, cluster: report.constants)
            print("  | line | size | GPUs | MBS | sequence | sharding | AC | measured MFU | predicted MFU | error |")
            print("  |---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
            for row in rows where row.gpus >= heldOutAtLeast {
                let ratio = try Calibration.predictedSamplesPerSecond(row, planner: planner) / row.samplesPerSecond
                print(
                    String(
                        format: "  | %ld | %@B | %ld | %ld | %ld | %@ | %@ | %.3f | %.3f | %+.1f%% |", row.line, row.sizeLabel, row.gpus,
                        row.microBatchSize, row.sequenceLength, row.sharding.rawValue, row.activationCheckpointing ? "yes" : "no", row.mfu,
                        row.mfu * ratio, 100 * (ratio - 1)))
            }
        }
    }

    private func line(_ title: String, _ accuracy: Calibration.Accuracy) -> String {
        var text = String(
            format: "  %@: %ld rows, median error %.1f%%, worst %.1f%%", title, accuracy.rows, 100 * accuracy.medianError,
            100 * accuracy.worstError)
        if let row = accuracy.worstRow {
            text += " (line \(row.line): \(row.sizeLabel)B, \(row.gpus) GPUs, MBS \(row.microBatchSize), \(row.sharding.rawValue))"
        }
        return text
    }
}
