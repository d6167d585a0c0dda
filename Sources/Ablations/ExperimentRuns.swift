import Config
import Foundation
import Observability

/// The runs under an experiments folder, read back for comparison: every folder with an `evaluation_results.jsonl`
/// (Modalities' records) and, when present, the resolved config written next to it (`<config>.resolved`).
public struct ExperimentRun {
    /// One training log record.
    public struct TrainPoint {
        public var step: Int
        public var tokens: Double?
        public var loss: Double?
        public var learningRate: Double?
        public var tokensPerSecond: Double?
        public var mfu: Double?
    }

    /// One evaluation: the loss of an evaluation data loader after `step`.
    public struct EvalPoint {
        public var step: Int
        public var tokens: Double?
        public var loss: Double
    }

    /// The folder relative to the experiments root.
    public var name: String
    public var folder: String
    public var train: [TrainPoint]
    /// Evaluations by `<dataloader tag> <loss name>`.
    public var evaluations: [String: [EvalPoint]]
    /// The resolved config flattened to `dotted.key: value` lines (empty without a resolved config).
    public var config: [String: String]
    /// The run's resolved config file (`*.resolved` in its folder), when it has one.
    public var resolvedConfigPath: String?
    /// Tokens/s a planner predicted for the run (`modalities report --plan_gpu`), shown beside the measured mean.
    public var predictedTokensPerSecond: Double?

    /// Every run under `root`, sorted by name.
    public static func load(root: String) throws -> [ExperimentRun] {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rootURL.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw SweepError.invalid(root, "no such folder")
        }
        var runs: [ExperimentRun] = []
        let enumerator = FileManager.default.enumerator(atPath: rootURL.path)
        while let relative = enumerator?.nextObject() as? String {
            guard (relative as NSString).lastPathComponent == "evaluation_results.jsonl" else { continue }
            let folderRelative = (relative as NSString).deletingLastPathComponent
            runs.append(
                try ExperimentRun(
                    folder: rootURL.path + (folderRelative.isEmpty ? "" : "/" + folderRelative),
                    name: folderRelative.isEmpty ? rootURL.lastPathComponent : folderRelative))
        }
        return runs.sorted { $0.name < $1.name }
    }

    init(folder: String, name: String) throws {
        self.folder = folder
        self.name = name
        let path = folder + "/evaluation_results.jsonl"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SweepError.invalid(path, "cannot read") }
        var train: [Int: TrainPoint] = [:]
        var evaluations: [String: [Int: EvalPoint]] = [:]
        for (index, line) in text.split(separator: "\n").enumerated() {
            guard let record = JSONLinesResultSubscriber.pythonJSONObject(line) else {
                throw SweepError.invalid(path, "line \(index + 1) is not a JSON object")
            }
            guard let tag = record["dataloader_tag"] as? String, let step = record["num_train_steps_done"] as? Int else { continue }
            let losses = record["losses"] as? [String: Any] ?? [:]
            let metrics = record["metrics"] as? [String: Any] ?? [:]
            let throughput = record["throughput_metrics"] as? [String: Any] ?? [:]
            // NaN (an evaluation without batches, a diverged run) and infinities are not drawn.
            func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue ?? (value as? Double) }
            func finite(_ value: Any?) -> Double? { number(value).flatMap { $0.isFinite ? $0 : nil } }
            if tag == "train" {
                // A resumed run logs a step again; the later record wins.
                train[step] = TrainPoint(
                    step: step, tokens: number(metrics["consumed tokens"]),
                    loss: finite(losses["train loss avg"]) ?? losses.values.compactMap(finite).first,
                    learningRate: number(throughput["lr mean"]), tokensPerSecond: number(throughput["train tokens/s"]),
                    mfu: number(throughput.first { $0.key.hasPrefix("train mfu") }?.value))
            } else {
                for (lossName, value) in losses {
                    guard let loss = finite(value) else { continue }
                    evaluations["\(tag) \(lossName)", default: [:]][step] = EvalPoint(step: step, tokens: nil, loss: loss)
                }
            }
        }
        self.train = train.values.sorted { $0.step < $1.step }
        // Evaluations happen after a training step: they get that step's token count.
        let tokensAt = Dictionary(self.train.compactMap { point in point.tokens.map { (point.step, $0) } }, uniquingKeysWith: { $1 })
        self.evaluations = evaluations.mapValues { points in
            points.values.sorted { $0.step < $1.step }.map { point in
                var point = point
                point.tokens = tokensAt[point.step]
                return point
            }
        }
        let resolved = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.filter { $0.hasSuffix(".resolved") }.sorted().first
        resolvedConfigPath = resolved.map { folder + "/" + $0 }
        config = try resolvedConfigPath.map { Self.flatten(try ConfigLoader.load(file: $0)) } ?? [:]
    }

    /// `a.b.c: value` for every scalar of a config (list elements by index).
    static func flatten(_ node: ConfigNode, prefix: String = "") -> [String: String] {
        var result: [String: String] = [:]
        switch node.value {
        case .scalar(let text, _):
            result[prefix] = text
        case .sequence(let elements):
            for (index, element) in elements.enumerated() {
                result.merge(flatten(element, prefix: prefix.isEmpty ? "\(index)" : "\(prefix).\(index)")) { $1 }
            }
        case .mapping(let entries):
            for entry in entries { result.merge(flatten(entry.node, prefix: prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)")) { $1 } }
        }
        return result
    }

    /// The config keys whose values differ between `runs` (the ablation axes), leaving out keys whose every
    /// value names its own run (experiment ids, output paths).
    public static func differingKeys(_ runs: [ExperimentRun]) -> [String] {
        guard runs.count > 1 else { return [] }
        let keys = Set(runs.flatMap(\.config.keys))
        return keys.filter { key in
            let values = runs.map { $0.config[key] }
            guard Set(values.map { $0 ?? "\u{0}" }).count > 1 else { return false }
            let ownNames = zip(runs, values).allSatisfy { run, value in
                guard let value else { return false }
                return value.contains(URL(fileURLWithPath: run.folder).lastPathComponent)
            }
            return !ownNames
        }.sorted()
    }
}
