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
    private let data: Data
    private let dataStart: Int

    public init(path: String) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw InteropError.unreadable(path: path, reason: "no such file or not readable")
        }
        guard data.count >= 8 else { throw InteropError.malformed(path: path, reason: "shorter than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLength > 0, 8 + headerLength <= data.count else {
            throw InteropError.malformed(path: path, reason: "header length \(headerLength) runs past the end of the file")
        }
        guard let header = try? JSONSerialization.jsonObject(with: data[(data.startIndex + 8)..<(data.startIndex + 8 + headerLength)]) as? [String: Any] else {
            throw InteropError.malformed(path: path, reason: "the header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        let available = data.count - 8 - headerLength
        for (name, value) in header where name != "__metadata__" {
            guard let fields = value as? [String: Any], let code = fields["dtype"] as? String, let shape = fields["shape"] as? [Int],
                  let offsets = fields["data_offsets"] as? [Int], offsets.count == 2 else {
                throw InteropError.malformed(path: path, reason: "tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard let dtype = Self.dtypes[code] else { throw InteropError.malformed(path: path, reason: "tensor \(name) has unsupported dtype \(code)") }
            let expected = shape.reduce(1, *) * dtype.byteCount
            guard offsets[0] >= 0, offsets[1] - offsets[0] == expected, offsets[1] <= available else {
                throw InteropError.malformed(path: path, reason: "tensor \(name) bytes \(offsets) do not fit shape \(shape) of \(code) within the file")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.path = path
        self.entries = entries
        self.data = data
        self.dataStart = 8 + headerLength
    }

    static let dtypes: [String: DType] = ["F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64, "I64": .int64,
                                          "I32": .int32, "I8": .int8, "U8": .uint8, "BOOL": .bool]

    /// The tensor `name` as stored (a CPU copy).
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw InteropError.missingTensor(path: path, name: name) }
        let bytes = data[(data.startIndex + dataStart + entry.range.lowerBound)..<(data.startIndex + dataStart + entry.range.upperBound)]
        return try Tensor(bytes: Array(bytes), dtype: entry.dtype, shape: entry.shape)
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
