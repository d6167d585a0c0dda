import Foundation

/// Whole-file operations on `.pbin` and JSONL files: merge, deterministic shuffles and shuffled chunks.
public enum PackedDataOperations {
    /// Concatenates packed files; documents of later files are offset by the data before them (Modalities
    /// shifts them by 12 bytes per file too many, which we do not copy).
    public static func merge(_ sources: [String], into destination: String) throws -> (documents: Int, tokens: Int) {
        let files = try sources.map(PackedDataFile.init(path:))
        guard let tokenSize = files.first?.tokenSize else { throw DataFormatError.malformed(path: destination, reason: "no input files") }
        for file in files where file.tokenSize != tokenSize {
            throw DataFormatError.malformed(
                path: file.path, reason: "token size \(file.tokenSize) differs from \(tokenSize) in \(files[0].path)")
        }
        let writer = try PackedDataWriter(path: destination, tokenSize: tokenSize)
        for file in files {
            for index in file.documents.indices { try writer.append(file.document(index)) }
        }
        try writer.finish()
        return (writer.documentCount, writer.tokenCount)
    }

    /// Writes the documents of `source` in a seeded random order.
    public static func shuffle(_ source: String, into destination: String, seed: UInt64) throws -> Int {
        let file = try PackedDataFile(path: source)
        var order = Array(file.documents.indices)
        SeededRandom(seed: seed).shuffle(&order)
        let writer = try PackedDataWriter(path: destination, tokenSize: file.tokenSize)
        for index in order { try writer.append(file.document(index)) }
        try writer.finish()
        return order.count
    }

    /// Chunk `chunkID` of `chunkCount` from every source (document ranges split as evenly as possible),
    /// concatenated and shuffled with `seed` (Modalities' `create_shuffled_dataset_chunk`).
    public static func shuffledChunk(
        of sources: [String], chunkID: Int, chunkCount: Int, into destination: String,
        seed: UInt64
    ) throws -> Int {
        guard chunkCount > 0, (0..<chunkCount).contains(chunkID) else {
            throw DataFormatError.malformed(path: destination, reason: "chunk id \(chunkID) is not in 0..<\(chunkCount)")
        }
        let files = try sources.map(PackedDataFile.init(path:))
        guard let tokenSize = files.first?.tokenSize else { throw DataFormatError.malformed(path: destination, reason: "no input files") }
        var picked: [(file: Int, document: Int)] = []
        for (fileIndex, file) in files.enumerated() {
            guard file.tokenSize == tokenSize else {
                throw DataFormatError.malformed(path: file.path, reason: "token size \(file.tokenSize) differs from \(tokenSize)")
            }
            picked += chunkRange(count: file.documents.count, chunkID: chunkID, chunkCount: chunkCount).map { (fileIndex, $0) }
        }
        SeededRandom(seed: seed).shuffle(&picked)
        let writer = try PackedDataWriter(path: destination, tokenSize: tokenSize)
        for (file, document) in picked { try writer.append(files[file].document(document)) }
        try writer.finish()
        return picked.count
    }

    /// Writes the lines of a JSONL file in a seeded random order.
    public static func shuffleJSONL(_ source: String, into destination: String, seed: UInt64) throws -> Int {
        try writeJSONL(
            lines: jsonlLines(source),
            order: { lines in
                var order = Array(lines.indices)
                SeededRandom(seed: seed).shuffle(&order)
                return order
            }, to: destination)
    }

    /// Chunk `chunkID` of `chunkCount` of the lines of every JSONL source, shuffled with `seed`.
    public static func shuffledJSONLChunk(
        of sources: [String], chunkID: Int, chunkCount: Int, into destination: String,
        seed: UInt64
    ) throws -> Int {
        guard chunkCount > 0, (0..<chunkCount).contains(chunkID) else {
            throw DataFormatError.malformed(path: destination, reason: "chunk id \(chunkID) is not in 0..<\(chunkCount)")
        }
        var lines: [Data] = []
        for source in sources {
            let all = try jsonlLines(source)
            lines += chunkRange(count: all.count, chunkID: chunkID, chunkCount: chunkCount).map { all[$0] }
        }
        return try writeJSONL(
            lines: lines,
            order: { lines in
                var order = Array(lines.indices)
                SeededRandom(seed: seed).shuffle(&order)
                return order
            }, to: destination)
    }

    /// The indices of chunk `chunkID` when `count` items are split into `chunkCount` nearly equal parts.
    static func chunkRange(count: Int, chunkID: Int, chunkCount: Int) -> Range<Int> {
        let base = count / chunkCount
        let extra = count % chunkCount
        let start = chunkID * base + Swift.min(chunkID, extra)
        return start..<(start + base + (chunkID < extra ? 1 : 0))
    }

    private static func jsonlLines(_ path: String) throws -> [Data] {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw DataFormatError.unreadable(path: path, reason: "no such file or not readable")
        }
        var lines: [Data] = []
        try JSONLines.forEachLine(in: data) { _, line in if !line.isEmpty { lines.append(line) } }
        return lines
    }

    private static func writeJSONL(lines: [Data], order: ([Data]) -> [Int], to destination: String) throws -> Int {
        var output = Data()
        for index in order(lines) {
            output.append(lines[index])
            output.append(UInt8(ascii: "\n"))
        }
        do {
            try output.write(to: URL(fileURLWithPath: destination), options: .atomic)
        } catch {
            throw DataFormatError.unwritable(path: destination, reason: "\(error)")
        }
        return lines.count
    }
}

/// A small seeded generator (SplitMix64) so shuffles are the same for a seed on every machine.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fisher–Yates with this generator.
    public func shuffle<T>(_ items: inout [T]) {
        var generator = self
        guard items.count > 1 else { return }
        for index in stride(from: items.count - 1, to: 0, by: -1) {
            let other = Int(generator.next() % UInt64(index + 1))
            items.swapAt(index, other)
        }
    }
}
