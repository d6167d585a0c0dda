import Foundation

/// Appends each result as one JSON line to a file (`results_subscriber/to_disc`, Modalities'
/// `evaluation_results.jsonl`); only global rank 0 writes.
public final class JSONLinesResultSubscriber: ResultSubscriber {
    public let path: String
    private let handle: FileHandle?

    public init(path: String, globalRank: Int = 0) throws {
        self.path = path
        guard globalRank == 0 else {
            handle = nil
            return
        }
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw ObservabilityError.unwritable(path: path, reason: "cannot create its folder: \(error.localizedDescription)")
        }
        if !FileManager.default.fileExists(atPath: path), !FileManager.default.createFile(atPath: path, contents: nil) {
            throw ObservabilityError.unwritable(path: path, reason: "cannot create it")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ObservabilityError.unwritable(path: path, reason: "cannot open it for appending")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    public func consume(_ result: EvaluationResult) throws {
        guard let handle else { return }
        handle.write(Data((result.jsonLine + "\n").utf8))
    }

    public func finish() throws {
        try handle?.synchronize()
    }

    /// The records of a JSON-lines results file, parsed (for tests and reports).
    public static func records(at path: String) throws -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ObservabilityError.unreadable(path: path)
        }
        return try text.split(separator: "\n").enumerated().map { index, line in
            guard let object = pythonJSONObject(line) else {
                throw ObservabilityError.malformed(path: path, line: index + 1)
            }
            return object
        }
    }

    /// Parses one line as Python's `json.loads` does: `NaN`, `Infinity` and `-Infinity` are numbers there (Modalities'
    /// and our result files hold `NaN` for an evaluation without batches), which Foundation's parser refuses.
    public static func pythonJSONObject(_ line: Substring) -> [String: Any]? {
        let sentinels = ["NaN": Double.nan, "Infinity": Double.infinity, "-Infinity": -Double.infinity]
        var rewritten = ""
        var inString = false
        var escaped = false
        var index = line.startIndex
        outer: while index < line.endIndex {
            let character = line[index]
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
            } else {
                for token in ["-Infinity", "Infinity", "NaN"] where line[index...].hasPrefix(token) {
                    rewritten += "\"\\u0001\(token)\""
                    index = line.index(index, offsetBy: token.count)
                    continue outer
                }
            }
            rewritten.append(character)
            index = line.index(after: index)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(rewritten.utf8)) as? [String: Any] else { return nil }
        func restore(_ value: Any) -> Any {
            if let text = value as? String, text.hasPrefix("\u{1}"), let number = sentinels[String(text.dropFirst())] { return number }
            if let dictionary = value as? [String: Any] { return dictionary.mapValues(restore) }
            if let array = value as? [Any] { return array.map(restore) }
            return value
        }
        return restore(object) as? [String: Any]
    }
}

/// A results or log file that cannot be written or read.
public enum ObservabilityError: Error, CustomStringConvertible, Equatable {
    case unwritable(path: String, reason: String)
    case unreadable(path: String)
    case malformed(path: String, line: Int)
    case unsupported(String)

    public var description: String {
        switch self {
        case let .unwritable(path, reason): return "\(path): cannot write: \(reason)"
        case let .unreadable(path): return "\(path): cannot read"
        case let .malformed(path, line): return "\(path):\(line): not a JSON object"
        case let .unsupported(message): return message
        }
    }
}
