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
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
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
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.allowFragments]) as? [String: Any] else {
                throw ObservabilityError.malformed(path: path, line: index + 1)
            }
            return object
        }
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
