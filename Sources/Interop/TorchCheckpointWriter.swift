import Foundation
import Torch

/// Writes `torch.save` files (the ZIP format of PyTorch ≥ 1.6) that `torch.load(..., weights_only=True)` reads:
/// nested dictionaries, lists and tuples of numbers, strings, booleans, None and CPU tensors. Modalities' FSDP1
/// checkpoints (`checkpoint_saving_execution/fsdp1`) are such files.
///
/// The pickle names only `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and storage classes, the
/// allow-list `weights_only` loading and our own reader accept; every tensor gets its own storage record.
public enum TorchCheckpointWriter {
    /// What a `torch.save`d object may hold.
    public indirect enum Value {
        case none
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case tensor(Tensor)
        case list([Value])
        case tuple([Value])
        /// A `dict`, or a `collections.OrderedDict` (what `state_dict()` returns) when `ordered`.
        case dict([(String, Value)], ordered: Bool)
    }

    static let storageNames: [DType: String] = [
        .float32: "FloatStorage", .float64: "DoubleStorage", .float16: "HalfStorage", .bfloat16: "BFloat16Storage",
        .int64: "LongStorage", .int32: "IntStorage", .int16: "ShortStorage", .int8: "CharStorage", .uint8: "ByteStorage",
        .bool: "BoolStorage",
    ]

    /// Writes `value` to `path` atomically; the archive's folder is named after the file (as torch.save does).
    public static func write(_ value: Value, to path: String) throws {
        var pickle = PickleWriter()
        var storages: [Data] = []
        try pickle.write(value, storages: &storages, path: path)
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.filter { $0.isLetter || $0.isNumber || $0 == "_" }
        let folder = stem.isEmpty ? "archive" : stem
        var members: [(String, Data)] = [
            (folder + "/data.pkl", pickle.bytes),
            (folder + "/.format_version", Data("1".utf8)),
            (folder + "/.storage_alignment", Data("64".utf8)),
            (folder + "/byteorder", Data("little".utf8)),
        ]
        for (index, storage) in storages.enumerated() { members.append((folder + "/data/\(index)", storage)) }
        members.append((folder + "/version", Data("3\n".utf8)))
        members.append((folder + "/.data/serialization_id", Data(String(format: "%040d", storages.count).utf8)))
        try AtomicFile.write(ZipWriter.archive(members, alignment: 64), to: path)
    }
}

/// Pickle protocol 2, the subset `torch.save` state dicts need.
struct PickleWriter {
    private(set) var bytes = Data([0x80, 0x02])

    mutating func write(_ value: TorchCheckpointWriter.Value, storages: inout [Data], path: String) throws {
        try emit(value, storages: &storages, path: path)
        bytes.append(0x2E)  // STOP
    }

    private mutating func emit(_ value: TorchCheckpointWriter.Value, storages: inout [Data], path: String) throws {
        switch value {
        case .none: bytes.append(0x4E)
        case .bool(let flag): bytes.append(flag ? 0x88 : 0x89)
        case .int(let number): integer(number)
        case .double(let number):
            bytes.append(0x47)
            withUnsafeBytes(of: number.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
        case .string(let text): string(text)
        case .list(let items):
            bytes.append(0x5D)  // EMPTY_LIST
            guard !items.isEmpty else { return }
            bytes.append(0x28)  // MARK
            for item in items { try emit(item, storages: &storages, path: path) }
            bytes.append(0x65)  // APPENDS
        case .tuple(let items):
            bytes.append(0x28)
            for item in items { try emit(item, storages: &storages, path: path) }
            bytes.append(0x74)  // TUPLE
        case .dict(let entries, let ordered):
            if ordered {
                global("collections", "OrderedDict")
                bytes.append(contentsOf: [0x29, 0x52])  // EMPTY_TUPLE, REDUCE
            } else {
                bytes.append(0x7D)  // EMPTY_DICT
            }
            guard !entries.isEmpty else { return }
            bytes.append(0x28)
            for (key, item) in entries {
                string(key)
                try emit(item, storages: &storages, path: path)
            }
            bytes.append(0x75)  // SETITEMS
        case .tensor(let tensor):
            guard tensor.device == .cpu, let storageName = TorchCheckpointWriter.storageNames[tensor.dtype] else {
                throw InteropError.malformed(path: path, reason: "cannot save a \(tensor.dtype) tensor on \(tensor.device) with torch.save")
            }
            let contiguous = try tensor.detach().contiguous()
            let key = storages.count
            storages.append(Data(try contiguous.rawBytes()))
            global("torch._utils", "_rebuild_tensor_v2")
            bytes.append(0x28)
            // The storage, by persistent id: ('storage', torch.<Type>Storage, key, location, element count).
            bytes.append(0x28)
            string("storage")
            global("torch", storageName)
            string(String(key))
            string("cpu")
            integer(contiguous.count)
            bytes.append(0x74)
            bytes.append(0x51)  // BINPERSID
            integer(0)
            try emit(.tuple(contiguous.shape.map { .int($0) }), storages: &storages, path: path)
            try emit(.tuple(Self.strides(contiguous.shape).map { .int($0) }), storages: &storages, path: path)
            bytes.append(0x89)  // requires_grad False
            global("collections", "OrderedDict")
            bytes.append(contentsOf: [0x29, 0x52])  // backward hooks: OrderedDict()
            bytes.append(0x74)
            bytes.append(0x52)  // REDUCE
        }
    }

    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for index in stride(from: shape.count - 2, through: 0, by: -1) {
            strides[index] = strides[index + 1] * Swift.max(shape[index + 1], 1)
        }
        return strides
    }

    private mutating func integer(_ number: Int) {
        if (0..<256).contains(number) {
            bytes.append(contentsOf: [0x4B, UInt8(number)])  // BININT1
        } else if (0..<65_536).contains(number) {
            bytes.append(contentsOf: [0x4D, UInt8(number & 0xff), UInt8(number >> 8)])  // BININT2
        } else if Int(Int32.min)...Int(Int32.max) ~= number {
            bytes.append(0x4A)  // BININT
            withUnsafeBytes(of: Int32(number).littleEndian) { bytes.append(contentsOf: $0) }
        } else {
            bytes.append(contentsOf: [0x8A, 8])  // LONG1, 8 bytes two's complement
            withUnsafeBytes(of: Int64(number).littleEndian) { bytes.append(contentsOf: $0) }
        }
    }

    private mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes.append(0x58)  // BINUNICODE
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8)
    }

    private mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)  // GLOBAL
        bytes.append(contentsOf: Array((module + "\n" + name + "\n").utf8))
    }
}

/// A ZIP archive of stored (uncompressed) members, each member's data aligned as torch.save aligns it.
enum ZipWriter {
    static func archive(_ members: [(name: String, data: Data)], alignment: Int) -> Data {
        var output = Data()
        var central = Data()
        func le16(_ value: Int, _ data: inout Data) { withUnsafeBytes(of: UInt16(value).littleEndian) { data.append(contentsOf: $0) } }
        func le32(_ value: Int, _ data: inout Data) {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { data.append(contentsOf: $0) }
        }
        for (name, data) in members {
            let nameBytes = Array(name.utf8)
            let offset = output.count
            let headerEnd = offset + 30 + nameBytes.count
            // An extra field of padding ("FB", as torch writes) puts the data at a multiple of `alignment`.
            let padding = (alignment - (headerEnd + 4) % alignment) % alignment
            let extraLength = headerEnd % alignment == 0 ? 0 : 4 + padding
            let crc = CRC32.checksum(data)
            le32(0x0403_4b50, &output); le16(20, &output); le16(0, &output); le16(0, &output); le16(0, &output); le16(0x21, &output)
            le32(Int(crc), &output); le32(data.count, &output); le32(data.count, &output)
            le16(nameBytes.count, &output); le16(extraLength, &output)
            output.append(contentsOf: nameBytes)
            if extraLength > 0 {
                le16(0x4246, &output); le16(padding, &output)
                output.append(Data(count: padding))
            }
            output.append(data)
            le32(0x0201_4b50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le16(0x21, &central); le32(Int(crc), &central); le32(data.count, &central); le32(data.count, &central)
            le16(nameBytes.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le32(0, &central); le32(offset, &central)
            central.append(contentsOf: nameBytes)
        }
        let centralOffset = output.count
        output.append(central)
        le32(0x0605_4b50, &output); le16(0, &output); le16(0, &output); le16(members.count, &output); le16(members.count, &output)
        le32(central.count, &output); le32(centralOffset, &output); le16(0, &output)
        return output
    }
}
