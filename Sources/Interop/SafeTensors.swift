import Foundation
import Torch

/// Reads safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
/// shape and byte range, then the data.
public struct SafeTensorsFile {
    public struct Entry: Sendable {
        public var dtype: DType
        public var shape: [Int]
        public var range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    /// The header's `__metadata__` strings.
    public let metadata: [String: String]
    /// Metadata key prefix of a tensor's CRC-32 (see ``SafeTensorsWriter/write(_:metadata:checksums:to:)``).
    public static let checksumPrefix = "crc32:"
    private let mapping: MappedFile
    private let dataStart: Int

    /// The largest header accepted (the reference implementation's limit): a bigger one is hostile or broken.
    public static let maximumHeaderBytes = 100_000_000

    public init(path: String) throws {
        let mapping: MappedFile
        do {
            mapping = try MappedFile(path: path)
        } catch {
            throw InteropError.unreadable(path: path, reason: "no such file or not readable")
        }
        guard mapping.count >= 8 else { throw InteropError.malformed(path: path, reason: "shorter than the 8-byte header length") }
        let declared = mapping.data(0..<8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared <= UInt64(Self.maximumHeaderBytes) else {
            throw InteropError.malformed(path: path, reason: "header length \(declared) exceeds the \(Self.maximumHeaderBytes)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength > 0, 8 + headerLength <= mapping.count else {
            throw InteropError.malformed(path: path, reason: "header length \(headerLength) runs past the end of the file")
        }
        let headerBytes = mapping.data(8..<(8 + headerLength))
        guard String(data: headerBytes, encoding: .utf8) != nil else {
            throw InteropError.malformed(path: path, reason: "the header is not UTF-8")
        }
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw InteropError.malformed(path: path, reason: "the header is not a JSON object")
        }
        if let duplicate = Self.duplicateTopLevelKey(in: [UInt8](headerBytes)) {
            throw InteropError.malformed(path: path, reason: "tensor name \(duplicate) appears twice in the header")
        }
        var entries: [String: Entry] = [:]
        let available = mapping.count - 8 - headerLength
        for (name, value) in header where name != "__metadata__" {
            guard let fields = value as? [String: Any], let code = fields["dtype"] as? String, let shape = fields["shape"] as? [Int],
                let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw InteropError.malformed(path: path, reason: "tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard let dtype = Self.dtypes[code] else {
                throw InteropError.malformed(path: path, reason: "tensor \(name) has unsupported dtype \(code)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw InteropError.malformed(path: path, reason: "tensor \(name) has a negative dimension in \(shape)")
            }
            let (elements, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let expected = elements.multipliedReportingOverflow(by: dtype.byteCount)
            guard !overflow, !expected.overflow, offsets[0] >= 0, offsets[1] >= offsets[0],
                offsets[1] - offsets[0] == expected.partialValue,
                offsets[1] <= available
            else {
                throw InteropError.malformed(
                    path: path, reason: "tensor \(name) bytes \(offsets) do not fit shape \(shape) of \(code) within the file")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        let ordered = entries.sorted {
            ($0.value.range.lowerBound, $0.value.range.upperBound) < ($1.value.range.lowerBound, $1.value.range.upperBound)
        }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.value.range.lowerBound < previous.value.range.upperBound {
            throw InteropError.malformed(path: path, reason: "tensors \(previous.key) and \(next.key) overlap")
        }
        self.path = path
        self.entries = entries
        self.metadata = (header["__metadata__"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
        self.mapping = mapping
        self.dataStart = 8 + headerLength
    }

    /// The first key of the top-level JSON object that occurs twice (JSON parsers keep one silently).
    static func duplicateTopLevelKey(in bytes: [UInt8]) -> String? {
        var seen = Set<[UInt8]>()
        var depth = 0
        var index = 0
        var expectingKey = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = byte == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            case UInt8(ascii: "\""):
                let start = index + 1
                index += 1
                while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectingKey && depth == 1 {
                    let key = Array(bytes[start..<Swift.min(index, bytes.count)])
                    if !seen.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
                    expectingKey = false
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    /// Whether the file records CRC-32s of its tensors.
    public var hasChecksums: Bool { metadata.keys.contains { $0.hasPrefix(Self.checksumPrefix) } }

    /// Checks every tensor against the CRC-32 the header records for it.
    /// - Throws: ``InteropError/malformed(path:reason:)`` naming the first tensor whose bytes differ, or one that has
    ///   no checksum while others do.
    public func verifyChecksums() throws {
        for (name, entry) in entries.sorted(by: { $0.value.range.lowerBound < $1.value.range.lowerBound }) {
            guard let stored = metadata[Self.checksumPrefix + name] else {
                throw InteropError.malformed(path: path, reason: "tensor \(name) has no checksum, although the file records them")
            }
            let start = dataStart + entry.range.lowerBound
            let computed =
                mapping.base.map { CRC32.checksum(UnsafeRawBufferPointer(start: $0 + start, count: entry.range.count)) }
                ?? CRC32.checksum(Data())
            guard CRC32.hex(computed) == stored.lowercased() else {
                throw InteropError.malformed(
                    path: path, reason: "tensor \(name) is corrupted: its CRC-32 is \(CRC32.hex(computed)), the file recorded \(stored)")
            }
        }
    }

    static let dtypes: [String: DType] = [
        "F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64, "I64": .int64,
        "I32": .int32, "I8": .int8, "U8": .uint8, "BOOL": .bool,
    ]

    /// The tensor `name` as stored: a view of the memory-mapped file when its bytes are aligned for the dtype
    /// (writes go to private copy-on-write pages, never to the file), else a copy.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw InteropError.missingTensor(path: path, name: name) }
        let start = dataStart + entry.range.lowerBound
        guard let base = mapping.base, !entry.range.isEmpty else { return try Tensor(bytes: [], dtype: entry.dtype, shape: entry.shape) }
        let address = base + start
        if Int(bitPattern: address) % entry.dtype.byteCount == 0 {
            return try Tensor(external: address, dtype: entry.dtype, shape: entry.shape, keepingAlive: mapping)
        }
        return try Tensor(bytes: Array(mapping.data(start..<(dataStart + entry.range.upperBound))), dtype: entry.dtype, shape: entry.shape)
    }
}

/// A checkpoint or model folder that cannot be read, naming the file and the tensor.
public enum InteropError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case unsupported(path: String, feature: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .malformed(path, reason): return "\(path): \(reason)"
        case let .missingTensor(path, name): return "\(path): no tensor named \(name)"
        case let .unsupported(path, feature): return "\(path): \(feature) is not supported"
        case let .unwritable(path, reason): return "\(path): cannot write: \(reason)"
        }
    }
}
