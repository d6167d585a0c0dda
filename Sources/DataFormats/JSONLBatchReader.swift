import Foundation

/// Reads a JSONL file in batches of lines with bounded memory: sequential block reads, or the byte ranges of
/// an index's entries. Nothing is memory-mapped, so resident memory does not grow with the file.
struct JSONLBatchReader {
    struct Line {
        /// The line number; for an index's entries, the entry's number until ``lineNumbers(startingAt:)`` tells
        /// the file's (an index may leave lines out).
        var number: Int
        var bytes: Data
        /// Where the line starts in the file (index entries only).
        var offset: Int? = nil
    }

    private let path: String
    private let handle: FileHandle
    private let index: [(Int, Int)]?
    private let fileSize: Int
    private var nextEntry = 0
    private var lineNumber = 0
    private var pending = Data()
    /// Where the unread part of `pending` starts.
    private var cursor = 0
    private var atEnd = false
    private static let blockSize = 4 << 20

    init(path: String, index: [(Int, Int)]?) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataFormatError.unreadable(path: path, reason: "no such file or not readable")
        }
        self.path = path
        self.handle = handle
        self.index = index
        self.fileSize = Int((try? handle.seekToEnd()) ?? 0)
        try? handle.seek(toOffset: 0)
        if let index {
            for (number, (offset, length)) in index.enumerated()
            where offset < 0 || length < 0 || offset > fileSize || length > fileSize - offset {
                throw DataFormatError.malformed(
                    path: path,
                    reason:
                        "index entry \(number) (\(offset), \(length)) lies outside the file (\(fileSize) bytes); is the index for another file?"
                )
            }
        }
    }

    /// Up to `count` lines; empty at the end of the file.
    mutating func next(_ count: Int) throws -> [Line] {
        index != nil ? try nextIndexed(count) : try nextSequential(count)
    }

    private mutating func nextSequential(_ count: Int) throws -> [Line] {
        var lines: [Line] = []
        while lines.count < count {
            let unread = pending[(pending.startIndex + cursor)...]
            if let newline = unread.firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > unread.startIndex && pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                lineNumber += 1
                lines.append(Line(number: lineNumber, bytes: Data(pending[unread.startIndex..<end])))
                cursor = newline + 1 - pending.startIndex
                continue
            }
            if atEnd {
                if !unread.isEmpty {
                    lineNumber += 1
                    lines.append(Line(number: lineNumber, bytes: Data(unread)))
                    cursor = pending.count
                }
                break
            }
            let block = try readBlock()
            // Keep only the unread tail, then add the next block.
            pending = Data(unread)
            cursor = 0
            if block.isEmpty { atEnd = true } else { pending.append(block) }
        }
        return lines
    }

    private func readBlock() throws -> Data {
        do {
            return try handle.read(upToCount: Self.blockSize) ?? Data()
        } catch {
            throw DataFormatError.unreadable(path: path, reason: "\(error)")
        }
    }

    private mutating func nextIndexed(_ count: Int) throws -> [Line] {
        guard let index, nextEntry < index.count else { return [] }
        let entries = index[nextEntry..<Swift.min(nextEntry + count, index.count)]
        defer { nextEntry += entries.count }
        let start = entries.map(\.0).min()!
        let end = entries.map { $0.0 + $0.1 }.max()!
        let span: Data
        do {
            try handle.seek(toOffset: UInt64(start))
            span = try handle.read(upToCount: end - start) ?? Data()
        } catch {
            throw DataFormatError.unreadable(path: path, reason: "\(error)")
        }
        return entries.enumerated().map { position, entry in
            let from = span.startIndex + entry.0 - start
            return Line(number: nextEntry + position + 1, bytes: Data(span[from..<(from + entry.1)]), offset: entry.0)
        }
    }

    /// Whether lines come from an index (whose entry numbers need ``lineNumbers(startingAt:)``).
    var isIndexed: Bool { index != nil }

    /// The file's 1-based line numbers of the lines that start at `offsets`, from one pass over the file that
    /// counts line breaks.
    func lineNumbers(startingAt offsets: [Int]) throws -> [Int: Int] {
        guard !offsets.isEmpty else { return [:] }
        guard let scan = FileHandle(forReadingAtPath: path) else {
            throw DataFormatError.unreadable(path: path, reason: "no such file or not readable")
        }
        defer { try? scan.close() }
        var pending = offsets.sorted()[...]
        var numbers: [Int: Int] = [:]
        var position = 0
        var breaks = 0
        while let next = pending.first {
            let block: Data
            do {
                block = try scan.read(upToCount: Self.blockSize) ?? Data()
            } catch {
                throw DataFormatError.unreadable(path: path, reason: "\(error)")
            }
            if block.isEmpty { break }
            var target = next
            for (index, byte) in block.enumerated() {
                while position + index == target {
                    numbers[target] = breaks + 1
                    pending.removeFirst()
                    guard let following = pending.first else { return numbers }
                    target = following
                }
                if byte == UInt8(ascii: "\n") { breaks += 1 }
            }
            position += block.count
        }
        for offset in pending { numbers[offset] = breaks + 1 }
        return numbers
    }

    /// Bytes of the file, for progress.
    var totalBytes: Int { fileSize }
}
