import DataFormats
import Foundation
import Torch

/// Reads PyTorch distributed-checkpoint (DCP) folders, Modalities' default checkpoint format: `.metadata` (a
/// pickle naming, for every state-dict key, the file, byte range and chunk offsets of its pieces) and `*.distcp`
/// files whose pieces are small `torch.save` archives. Tensors saved in chunks (by several ranks) are assembled
/// whole. Nothing in the pickles is executed; the metadata classes are allow-listed by name.
public struct DistributedCheckpoint {
    static let allowedGlobals: Set<String> = {
        let metadata = [
            "Metadata", "TensorStorageMetadata", "TensorProperties", "ChunkStorageMetadata", "BytesStorageMetadata",
            "MetadataIndex", "StorageMeta", "_MEM_FORMAT_ENCODING",
        ].map { "torch.distributed.checkpoint.metadata.\($0)" }
        let dtypes = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"].map { "torch.\($0)" }
        return Set(
            metadata + dtypes + [
                "torch.distributed.checkpoint.filesystem._StorageInfo", "torch.serialization._get_layout", "torch.Size",
                "pathlib.PosixPath", "collections.OrderedDict", "builtins.set",
            ])
    }()

    public let folder: String
    /// Tensors by fully qualified name (`app.model.transformer.wte.weight`).
    public let tensors: [String: Tensor]
    /// Non-tensor entries (learning rates, step counts) by name.
    public let values: [String: Pickle.Value]

    public static func isDistributedCheckpoint(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/.metadata")
    }

    public init(folder: String) throws {
        let metadataPath = folder + "/.metadata"
        guard let data = FileManager.default.contents(atPath: metadataPath) else {
            throw InteropError.unreadable(path: metadataPath, reason: "no DCP metadata file")
        }
        let root: Pickle.Value
        do {
            root = try Pickle.decode(data, allowedGlobals: Self.allowedGlobals)
        } catch let error as Pickle.DecodingError {
            throw InteropError.malformed(path: metadataPath, reason: error.description)
        }
        func fail(_ reason: String) -> InteropError { .malformed(path: metadataPath, reason: reason) }
        guard let state = Self.fields(of: root), case .dict(let storageData)? = state["storage_data"],
            case .dict(let tensorMetadata)? = state["state_dict_metadata"]
        else {
            throw fail("no storage_data / state_dict_metadata")
        }
        var sizes: [String: [Int]] = [:]
        for entry in tensorMetadata {
            guard case .string(let name) = entry.key else { continue }
            if let fields = Self.fields(of: entry.value), let size = fields["size"].flatMap(Self.integers) { sizes[name] = size }
        }
        var files: [String: Data] = [:]
        var chunks: [String: [(offset: [Int], tensor: Tensor)]] = [:]
        var values: [String: Pickle.Value] = [:]
        for entry in storageData {
            guard let index = Self.fields(of: entry.key), case .string(let name)? = index["fqn"], let info = Self.fields(of: entry.value),
                case .string(let file)? = info["relative_path"], case .int(let offset)? = info["offset"],
                case .int(let length)? = info["length"]
            else {
                throw fail("a storage_data entry lacks fqn, relative_path, offset or length")
            }
            guard !file.contains("/"), !file.hasPrefix(".") else { throw fail("piece file \(file) leaves the folder") }
            if files[file] == nil {
                guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: folder + "/" + file), options: .alwaysMapped) else {
                    throw InteropError.unreadable(path: folder + "/" + file, reason: "missing or unreadable")
                }
                files[file] = bytes
            }
            let bytes = files[file]!
            guard offset >= 0, length >= 0, offset + length <= bytes.count else {
                throw InteropError.malformed(path: folder + "/" + file, reason: "\(name) at \(offset)+\(length) runs past the end")
            }
            let piece = try TorchCheckpoint(
                data: bytes[(bytes.startIndex + offset)..<(bytes.startIndex + offset + length)],
                label: "\(folder)/\(file)@\(offset) (\(name))")
            if let tensor = piece.tensors[""] {
                let chunkOffset = index["offset"].flatMap(Self.integers) ?? Array(repeating: 0, count: tensor.rank)
                chunks[name, default: []].append((chunkOffset, tensor))
            } else {
                for (key, value) in piece.values { values[key.isEmpty ? name : name + "." + key] = value }
            }
        }
        var tensors: [String: Tensor] = [:]
        for (name, pieces) in chunks {
            if pieces.count == 1, pieces[0].offset.allSatisfy({ $0 == 0 }), sizes[name] == nil || sizes[name] == pieces[0].tensor.shape {
                tensors[name] = pieces[0].tensor
                continue
            }
            guard let size = sizes[name] else { throw fail("\(name) has chunks but no size") }
            let whole = try Tensor.zeros(size, dtype: pieces[0].tensor.dtype)
            for piece in pieces {
                guard piece.offset.count == size.count else {
                    throw fail("\(name) chunk offset \(piece.offset) does not match shape \(size)")
                }
                var view = whole
                for (dimension, start) in piece.offset.enumerated() {
                    guard start + piece.tensor.size(dimension) <= size[dimension] else {
                        throw fail("\(name) chunk at \(piece.offset) runs past \(size)")
                    }
                    view = try view.narrow(dimension, start: start, length: piece.tensor.size(dimension))
                }
                _ = try view.copy_(piece.tensor)
            }
            tensors[name] = whole
        }
        self.folder = folder
        self.tensors = tensors
        self.values = values
    }

    /// The fields of a dataclass record (NEWOBJ + BUILD with a dict, or with `(None, slots)` for slotted classes).
    static func fields(of value: Pickle.Value) -> [String: Pickle.Value]? {
        guard case .built(_, let state) = value else { return nil }
        var result: [String: Pickle.Value] = [:]
        func add(_ value: Pickle.Value) {
            if case .dict(let entries) = value {
                for entry in entries { if case .string(let key) = entry.key { result[key] = entry.value } }
            }
        }
        if case .tuple(let parts) = state { parts.forEach(add) } else { add(state) }
        return result
    }

    /// `torch.Size([...])` or a plain tuple of integers.
    static func integers(_ value: Pickle.Value) -> [Int]? {
        var items: [Pickle.Value]
        switch value {
        case .call(.global("torch", "Size"), let arguments):
            guard case .tuple(let parts)? = arguments.first ?? .tuple([]) else { return nil }
            items = parts
        case .tuple(let parts), .list(let parts): items = parts
        default: return nil
        }
        let numbers = items.compactMap { item -> Int? in if case .int(let n) = item { return n } else { return nil } }
        return numbers.count == items.count ? numbers : nil
    }
}
