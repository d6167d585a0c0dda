import DataFormats
import Foundation
import Torch

/// Reads `torch.save` files (a ZIP with `data.pkl` and one member per storage) without executing their pickle:
/// only the classes state dicts use are allow-listed, and tensors are rebuilt from the storage bytes.
/// Modalities' FSDP1 checkpoints (`*.bin` model and optimizer state) and plain state dicts are such files.
public struct TorchCheckpoint {
    /// The classes and functions a state dict's pickle may name.
    static let allowedGlobals: Set<String> = Set(
        [
            "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_tensor", "builtins.set", "torch.device",
        ] + storageTypes.keys.map { "torch.\($0)" })

    static let storageTypes: [String: DType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8,
        "BoolStorage": .bool,
    ]

    public let path: String
    /// Tensors by dotted path (`model.transformer.wte.weight`, `state.0.exp_avg`).
    public let tensors: [String: Tensor]
    /// Plain values (numbers, strings, booleans) by dotted path.
    public let values: [String: Pickle.Value]

    public init(path: String) throws {
        try self.init(archive: try ZipArchive(path: path))
    }

    /// A torch.save archive held in memory; `label` names it in errors.
    public init(data: Data, label: String) throws {
        try self.init(archive: try ZipArchive(data: data, path: label))
    }

    init(archive: ZipArchive) throws {
        let path = archive.path
        guard let pickle = archive.members.values.first(where: { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }) else {
            throw InteropError.malformed(
                path: path, reason: "no data.pkl member: not a torch.save file (the legacy non-ZIP format is not read)")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        let root: Pickle.Value
        do {
            root = try Pickle.decode(try archive.bytes(of: pickle), allowedGlobals: Self.allowedGlobals)
        } catch let error as Pickle.DecodingError {
            throw InteropError.malformed(path: path, reason: error.description)
        }
        var storages: [String: Tensor] = [:]
        func storage(_ id: Pickle.Value) throws -> Tensor {
            guard case .tuple(let parts) = id, parts.count == 5, parts[0] == .string("storage"),
                case .global("torch", let typeName) = parts[1], let dtype = Self.storageTypes[typeName], case .string(let key) = parts[2],
                case .int(let count) = parts[4]
            else {
                throw InteropError.malformed(path: path, reason: "unexpected storage record \(id)")
            }
            if let cached = storages[key] { return cached }
            guard let member = archive.members[prefix + "data/" + key] else {
                throw InteropError.malformed(path: path, reason: "storage \(key) is missing from the archive")
            }
            guard count >= 0, count * dtype.byteCount == member.size else {
                throw InteropError.malformed(
                    path: path, reason: "storage \(key) holds \(member.size) bytes, not \(count) \(typeName) elements")
            }
            let tensor = try Tensor(bytes: Array(try archive.bytes(of: member)), dtype: dtype, shape: [count])
            storages[key] = tensor
            return tensor
        }
        func rebuild(_ arguments: [Pickle.Value]) throws -> Tensor {
            guard arguments.count >= 4, case .persistent(let id) = arguments[0], case .int(let offset) = arguments[1],
                case .tuple(let sizeValues) = arguments[2], case .tuple(let strideValues) = arguments[3]
            else {
                throw InteropError.malformed(path: path, reason: "unexpected tensor record")
            }
            let size = sizeValues.compactMap { if case .int(let v) = $0 { return v } else { return nil } }
            let stride = strideValues.compactMap { if case .int(let v) = $0 { return v } else { return nil } }
            guard size.count == sizeValues.count, stride.count == size.count else {
                throw InteropError.malformed(path: path, reason: "bad tensor shape")
            }
            let flat = try storage(id)
            var needed = offset + 1
            for (dimension, step) in zip(size, stride) where dimension > 0 { needed += (dimension - 1) * step }
            guard offset >= 0, size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }), size.contains(0) || needed <= flat.count else {
                throw InteropError.malformed(
                    path: path, reason: "tensor view \(size) / \(stride) at \(offset) runs past its storage of \(flat.count)")
            }
            return try flat.asStrided(size, stride, offset: offset).contiguous()
        }
        var tensors: [String: Tensor] = [:]
        var values: [String: Pickle.Value] = [:]
        func visit(_ value: Pickle.Value, _ key: String) throws {
            switch value {
            case .call(.global("torch._utils", "_rebuild_tensor_v2"), let arguments),
                .call(.global("torch._utils", "_rebuild_tensor"), let arguments):
                tensors[key] = try rebuild(arguments)
            case .call(.global("torch._utils", "_rebuild_parameter"), let arguments):
                guard let data = arguments.first else { throw InteropError.malformed(path: path, reason: "empty parameter record") }
                try visit(data, key)
            case .dict(let entries):
                for entry in entries {
                    let name: String
                    switch entry.key {
                    case .string(let text): name = text
                    case .int(let number): name = String(number)
                    default: continue
                    }
                    try visit(entry.value, key.isEmpty ? name : key + "." + name)
                }
            case .list(let items), .tuple(let items):
                for (index, item) in items.enumerated() { try visit(item, key.isEmpty ? String(index) : key + "." + String(index)) }
            case .int, .float, .bool, .string, .none:
                values[key] = value
            default:
                break
            }
        }
        try visit(root, "")
        self.path = path
        self.tensors = tensors
        self.values = values
    }
}
