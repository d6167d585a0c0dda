/// One value of a result record: integers stay integers in the JSON lines (`consumed tokens`), the rest are
/// floating point.
public enum ResultValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    /// A value that could not be computed (MFU without a known peak). Records keep Modalities' placeholder, -1.0, so
    /// its tools read them; the console leaves it out.
    case notComputed

    public var doubleValue: Double {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        case .notComputed: return -1
        }
    }

    /// JSON text as Python's `json.dumps` writes it (`NaN`, `Infinity` included, as Python does).
    public var json: String {
        switch self {
        case .integer(let value): return String(value)
        case .notComputed: return "-1.0"
        case .number(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
            if value == value.rounded(), Swift.abs(value) < 1e16 { return String(format: "%.1f", value) }
            return String(describing: value)
        }
    }

    public var description: String { json }
}

/// Losses and metrics of training or evaluation at one step, in the shape of Modalities' `EvaluationResultBatch`
/// (the record `results_subscriber/to_disc` writes, one JSON object per line).
public struct EvaluationResult: Sendable, Equatable {
    public var dataloaderTag: String
    public var numTrainStepsDone: Int
    /// Named values in the order they were added.
    public var losses: [(String, ResultValue)]
    public var metrics: [(String, ResultValue)]
    public var throughputMetrics: [(String, ResultValue)]
    /// Names the console shows instead of the record's, where they differ (the record keeps Modalities' key
    /// `train mfu (16-bit)`, the console names the precision the run computes in).
    public var consoleNames: [String: String] = [:]

    public init(
        dataloaderTag: String, numTrainStepsDone: Int, losses: [(String, ResultValue)] = [],
        metrics: [(String, ResultValue)] = [], throughputMetrics: [(String, ResultValue)] = []
    ) {
        self.dataloaderTag = dataloaderTag
        self.numTrainStepsDone = numTrainStepsDone
        self.losses = losses
        self.metrics = metrics
        self.throughputMetrics = throughputMetrics
    }

    public static func == (lhs: EvaluationResult, rhs: EvaluationResult) -> Bool {
        func same(_ a: [(String, ResultValue)], _ b: [(String, ResultValue)]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }
        return lhs.dataloaderTag == rhs.dataloaderTag && lhs.numTrainStepsDone == rhs.numTrainStepsDone
            && same(lhs.losses, rhs.losses) && same(lhs.metrics, rhs.metrics) && same(lhs.throughputMetrics, rhs.throughputMetrics)
    }

    /// The value named `name` in any of the three groups.
    public subscript(name: String) -> ResultValue? {
        (losses + metrics + throughputMetrics).first { $0.0 == name }?.1
    }

    /// The record as one line of JSON, with Modalities' field order.
    public var jsonLine: String {
        func object(_ values: [(String, ResultValue)]) -> String {
            "{" + values.map { "\(JSONText.quoted($0.0)): \($0.1.json)" }.joined(separator: ", ") + "}"
        }
        return "{\"dataloader_tag\": \(JSONText.quoted(dataloaderTag)), \"num_train_steps_done\": \(numTrainStepsDone), "
            + "\"losses\": \(object(losses)), \"metrics\": \(object(metrics)), \"throughput_metrics\": \(object(throughputMetrics))}"
    }

    /// A one-line summary for logs: step, throughput, losses and metrics rounded for reading, under their console
    /// names; values that were not computed are left out.
    public var summary: String {
        func rounded(_ values: [(String, ResultValue)]) -> String {
            values.compactMap { key, value in
                let name = consoleNames[key] ?? key
                switch value {
                case .integer(let integer): return "\(name): \(integer)"
                case .number(let number):
                    return
                        "\(name): \(Swift.abs(number) < 1e-2 && number != 0 ? String(format: "%.3g", number) : String(format: "%.4g", number))"
                case .notComputed: return nil
                }
            }.joined(separator: " | ")
        }
        return ["\(dataloaderTag) step: \(numTrainStepsDone)", rounded(losses), rounded(metrics), rounded(throughputMetrics)]
            .filter { !$0.isEmpty }.joined(separator: " | ")
    }
}

/// Minimal JSON string quoting shared by the writers of this module.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
