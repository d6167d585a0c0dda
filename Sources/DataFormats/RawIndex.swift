import Foundation

/// Modalities' raw JSONL index (`.idx`): a pickled list of `(byte offset, byte length)` per line, the newline
/// excluded.
public enum RawIndex {
    /// A line that is not a JSON object: where, and why.
    public struct InvalidLine: Sendable, Equatable {
        public var line: Int
        public var reason: String
    }

    /// The index of every valid line of the JSONL file at `path`, and the invalid lines (which are left out).
    public static func build(jsonl path: String) throws -> (entries: [(Int, Int)], invalid: [InvalidLine]) {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw DataFormatError.unreadable(path: path, reason: "no such file or not readable")
        }
        var entries: [(Int, Int)] = []
        var invalid: [InvalidLine] = []
        var lineNumber = 0
        try JSONLines.forEachLine(in: data) { offset, line in
            lineNumber += 1
            if let problem = JSONLines.problem(with: line) {
                invalid.append(InvalidLine(line: lineNumber, reason: problem))
            } else {
                entries.append((offset, line.count))
            }
        }
        return (entries, invalid)
    }

    /// Reads an `.idx` file.
    public static func read(_ path: String) throws -> [(Int, Int)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataFormatError.unreadable(path: path, reason: "no such file or not readable")
        }
        do {
            guard let pairs = try Pickle.decode(data).integerPairs else {
                throw DataFormatError.malformed(path: path, reason: "not a list of (offset, length) pairs")
            }
            return pairs
        } catch let error as Pickle.DecodingError {
            throw DataFormatError.malformed(path: path, reason: "\(error)")
        }
    }

    /// Writes an `.idx` file.
    public static func write(_ entries: [(Int, Int)], to path: String) throws {
        do {
            try Data(Pickle.encodePairs(entries)).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DataFormatError.unwritable(path: path, reason: "\(error)")
        }
    }
}

/// Line access to JSONL files.
enum JSONLines {
    /// Calls `body(offset, line bytes)` for each line, the newline (and a CR before it) excluded; the last line
    /// needs no newline.
    static func forEachLine(in data: Data, _ body: (Int, Data) throws -> Void) throws {
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            var lineEnd = end
            if lineEnd > start && data[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            try body(start - data.startIndex, data[start..<lineEnd])
            start = end == data.endIndex ? end : end + 1
        }
    }

    /// Why `line` is not a JSON object, or nil when it is one.
    static func problem(with line: Data) -> String? {
        guard String(data: line, encoding: .utf8) != nil else { return "invalid UTF-8" }
        guard (try? JSONSerialization.jsonObject(with: line)) is [String: Any] else { return "not a JSON object" }
        return nil
    }
}
