import Foundation

/// `results_subscriber/wandb` without a network: mode OFFLINE writes a local run folder
/// (`<directory>/wandb/offline-run-<time>-<experiment id>/`) holding the config, every logged value by step
/// (`files/wandb-history.jsonl`, keys `<dataloader tag> <name>` as Modalities logs them) and the last values
/// (`files/wandb-summary.json`); DISABLED writes nothing; ONLINE is refused, since runs here never reach a server.
public final class WandbOfflineSubscriber: ResultSubscriber {
    public enum Mode: String, Sendable, CaseIterable { case ONLINE, OFFLINE, DISABLED }

    /// The run folder; nil when disabled or not rank 0.
    public let runFolder: String?
    private var history: FileHandle?
    private var summary: [String: ResultValue] = [:]
    private var summaryOrder: [String] = []

    public init(
        project: String, experimentID: String, mode: Mode, directory: String, configFilePath: String, globalRank: Int,
        now: Date = Date()
    ) throws {
        if mode == .ONLINE {
            throw ObservabilityError.unsupported(
                "results_subscriber/wandb mode ONLINE needs a network connection to a W&B server, which this build does not make; use OFFLINE (a local run folder) or DISABLED"
            )
        }
        guard mode == .OFFLINE, globalRank == 0 else {
            runFolder = nil
            return
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        let folder =
            "\(directory)/wandb/offline-run-\(formatter.string(from: now))-\(experimentID.replacingOccurrences(of: "/", with: "_"))"
        let files = folder + "/files"
        do {
            try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
            let config = try String(contentsOfFile: configFilePath, encoding: .utf8)
            try config.write(toFile: files + "/config.yaml", atomically: true, encoding: .utf8)
            let metadata = "{\"project\": \(JSONText.quoted(project)), \"name\": \(JSONText.quoted(experimentID)), \"mode\": \"offline\"}\n"
            try metadata.write(toFile: files + "/wandb-metadata.json", atomically: true, encoding: .utf8)
        } catch {
            throw ObservabilityError.unwritable(path: folder, reason: "\(error)")
        }
        let historyPath = files + "/wandb-history.jsonl"
        guard FileManager.default.createFile(atPath: historyPath, contents: nil),
            let history = FileHandle(forWritingAtPath: historyPath)
        else {
            throw ObservabilityError.unwritable(path: historyPath, reason: "cannot create it")
        }
        self.history = history
        runFolder = folder
    }

    public func consume(_ result: EvaluationResult) throws {
        guard let history else { return }
        let values = (result.losses + result.metrics + result.throughputMetrics).map { ("\(result.dataloaderTag) \($0.0)", $0.1) }
        let fields = ["\"_step\": \(result.numTrainStepsDone)"] + values.map { "\(JSONText.quoted($0.0)): \($0.1.json)" }
        history.write(Data(("{" + fields.joined(separator: ", ") + "}\n").utf8))
        for (name, value) in values {
            if summary[name] == nil { summaryOrder.append(name) }
            summary[name] = value
        }
    }

    public func consume(facts: [(String, ResultValue)]) throws {
        guard let runFolder else { return }
        let text = "{" + facts.map { "\(JSONText.quoted($0.0)): \($0.1.json)" }.joined(separator: ", ") + "}\n"
        try? text.write(toFile: runFolder + "/files/run-facts.json", atomically: true, encoding: .utf8)
    }

    public func finish() throws {
        guard let runFolder, let history else { return }
        try history.synchronize()
        let text = "{" + summaryOrder.map { "\(JSONText.quoted($0)): \(summary[$0]!.json)" }.joined(separator: ", ") + "}\n"
        try text.write(toFile: runFolder + "/files/wandb-summary.json", atomically: true, encoding: .utf8)
    }
}
