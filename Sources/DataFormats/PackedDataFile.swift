import Foundation

/// Modalities' packed token file (`.pbin`): an 8-byte little-endian data length, a 4-byte token size (1, 2 or
/// 4), the tokens little-endian, then a pickled list of `(byte offset, byte length)` per document, relative to
/// the data section.
public struct PackedDataFile: Sendable {
    public static let headerSize = 12

    public let path: String
    public let tokenSize: Int
    /// Bytes of token data.
    public let dataLength: Int
    /// Byte offset and length of each document in the data section.
    public let documents: [(offset: Int, length: Int)]
    private let data: Data

    /// Opens and checks a `.pbin`: the header, the index and every document range.
    public init(path: String) throws {
        self.path = path
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw DataFormatError.unreadable(path: path, reason: "no such file or not readable")
        }
        guard data.count >= Self.headerSize else {
            throw DataFormatError.malformed(path: path, reason: "the file has \(data.count) bytes, fewer than the 12-byte header")
        }
        let declaredLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        let tokenSize = data.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) }
        guard [1, 2, 4].contains(tokenSize) else {
            throw DataFormatError.malformed(path: path, reason: "token size \(tokenSize) in the header; expected 1, 2 or 4")
        }
        // Compared as unsigned 64-bit numbers: a forged length near 2^64 neither traps nor wraps around.
        guard declaredLength <= UInt64(data.count - Self.headerSize) else {
            throw DataFormatError.malformed(
                path: path, reason: "the header's data length \(declaredLength) runs past the end of the file (\(data.count) bytes)")
        }
        let dataLength = Int(declaredLength)
        guard dataLength % tokenSize == 0 else {
            throw DataFormatError.malformed(
                path: path, reason: "data length \(dataLength) is not a whole number of \(tokenSize)-byte tokens")
        }
        let indexBytes = data[(data.startIndex + Self.headerSize + dataLength)...]
        guard !indexBytes.isEmpty else {
            throw DataFormatError.malformed(
                path: path, reason: "no document index after the \(dataLength) bytes of tokens (truncated file?)")
        }
        let index: Pickle.Value
        do {
            index = try Pickle.decode(indexBytes)
        } catch let error as Pickle.DecodingError {
            throw DataFormatError.malformed(path: path, reason: "document index: \(error)")
        }
        guard let pairs = index.integerPairs else {
            throw DataFormatError.malformed(path: path, reason: "the document index is not a list of (offset, length) pairs")
        }
        for (number, (offset, length)) in pairs.enumerated() {
            guard offset >= 0, length >= 0, offset <= dataLength, length <= dataLength - offset, offset % tokenSize == 0,
                length % tokenSize == 0
            else {
                throw DataFormatError.malformed(
                    path: path,
                    reason:
                        "document \(number) (offset \(offset), length \(length)) lies outside the \(dataLength) data bytes or splits a token"
                )
            }
        }
        self.data = data
        self.tokenSize = tokenSize
        self.dataLength = dataLength
        self.documents = pairs.map { (offset: $0.0, length: $0.1) }
    }

    /// Number of tokens in the data section.
    public var tokenCount: Int { dataLength / tokenSize }

    /// The tokens of `range` (token positions in the data section).
    public func tokens(in range: Range<Int>) -> [Int] {
        data.withUnsafeBytes { raw in
            let base = Self.headerSize
            return range.map { position in
                let offset = base + position * tokenSize
                switch tokenSize {
                case 1: return Int(raw[offset])
                case 2: return Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                default: return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                }
            }
        }
    }

    /// The tokens of document `index`.
    public func document(_ index: Int) -> [Int] {
        let (offset, length) = documents[index]
        return tokens(in: (offset / tokenSize)..<((offset + length) / tokenSize))
    }

    /// The token size for a vocabulary: 1 byte up to 256 ids, 2 up to 65,536, else 4.
    public static func tokenSize(forVocabularySize size: Int) -> Int {
        size <= 1 << 8 ? 1 : size <= 1 << 16 ? 2 : 4
    }
}

/// Writes a `.pbin` incrementally with bounded memory: documents are appended as they come, the index and the
/// data length are written at the end, into a temporary file that replaces the target only when complete.
public final class PackedDataWriter {
    public let path: String
    public let tokenSize: Int
    private let temporaryPath: String
    private let handle: FileHandle
    private var documents: [(Int, Int)] = []
    private var dataLength = 0
    private var buffer: [UInt8] = []
    private var finished = false

    public init(path: String, tokenSize: Int) throws {
        guard [1, 2, 4].contains(tokenSize) else { throw DataFormatError.unwritable(path: path, reason: "token size \(tokenSize)") }
        self.path = path
        self.tokenSize = tokenSize
        self.temporaryPath = path + ".partial"
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporaryPath)
        else {
            throw DataFormatError.unwritable(path: path, reason: "cannot create \(temporaryPath)")
        }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
        buffer += [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: UInt32(tokenSize).littleEndian) { buffer += $0 }
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporaryPath)
        }
    }

    /// Documents written so far.
    public var documentCount: Int { documents.count }
    public var tokenCount: Int { dataLength / tokenSize }

    /// Appends one document.
    public func append(_ tokens: [Int]) throws {
        let limit = tokenSize == 4 ? Int(UInt32.max) : (1 << (8 * tokenSize)) - 1
        for token in tokens {
            guard token >= 0 && token <= limit else {
                throw DataFormatError.unwritable(path: path, reason: "token \(token) does not fit in \(tokenSize) bytes")
            }
            switch tokenSize {
            case 1: buffer.append(UInt8(token))
            case 2: buffer += [UInt8(token & 0xFF), UInt8(token >> 8)]
            default: buffer += [UInt8(token & 0xFF), UInt8((token >> 8) & 0xFF), UInt8((token >> 16) & 0xFF), UInt8(token >> 24)]
            }
        }
        documents.append((dataLength, tokens.count * tokenSize))
        dataLength += tokens.count * tokenSize
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw DataFormatError.unwritable(path: path, reason: "\(error)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the index and the data length, then moves the file into place.
    public func finish() throws {
        buffer += Pickle.encodePairs(documents)
        try flush()
        do {
            try handle.seek(toOffset: 0)
            var length = UInt64(dataLength).littleEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporaryPath, toPath: path)
        } catch {
            throw DataFormatError.unwritable(path: path, reason: "\(error)")
        }
        finished = true
    }
}
