import Foundation
import Torch

/// The weights of a Hugging Face model folder: `model.safetensors`, or shards named by
/// `model.safetensors.index.json` (`{"weight_map": {tensor: file}}`).
public struct SafeTensorsFolder {
    public let folder: String
    private let files: [String: SafeTensorsFile]
    private let fileOfTensor: [String: String]

    public init(folder: String) throws {
        let indexPath = folder + "/model.safetensors.index.json"
        if let data = FileManager.default.contents(atPath: indexPath) {
            guard let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let map = index["weight_map"] as? [String: String]
            else {
                throw InteropError.malformed(path: indexPath, reason: "no weight_map of tensor names to files")
            }
            var files: [String: SafeTensorsFile] = [:]
            for name in Set(map.values) {
                guard !name.contains("/"), !name.hasPrefix(".") else {
                    throw InteropError.malformed(path: indexPath, reason: "shard name \(name) leaves the folder")
                }
                files[name] = try SafeTensorsFile(path: folder + "/" + name)
            }
            for (tensor, file) in map where files[file]?.entries[tensor] == nil {
                throw InteropError.malformed(path: indexPath, reason: "the index puts \(tensor) in \(file), which does not hold it")
            }
            self.files = files
            fileOfTensor = map
        } else {
            let single = try SafeTensorsFile(path: folder + "/model.safetensors")
            files = ["model.safetensors": single]
            fileOfTensor = single.entries.keys.reduce(into: [:]) { $0[$1] = "model.safetensors" }
        }
        self.folder = folder
    }

    public var names: [String] { fileOfTensor.keys.sorted() }

    public func entry(_ name: String) -> SafeTensorsFile.Entry? { fileOfTensor[name].flatMap { files[$0]?.entries[name] } }

    public func tensor(_ name: String) throws -> Tensor {
        guard let file = fileOfTensor[name], let shard = files[file] else { throw InteropError.missingTensor(path: folder, name: name) }
        return try shard.tensor(name)
    }

    /// Writes `tensors` as `model.safetensors`, or as `model-0000i-of-0000n.safetensors` shards of at most
    /// `maximumShardBytes` each plus `model.safetensors.index.json` when they do not fit one.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], to folder: String, maximumShardBytes: Int = 5_000_000_000,
        metadata: [String: String] = ["format": "pt"]
    ) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var shards: [[(name: String, tensor: Tensor)]] = [[]]
        var size = 0
        var total = 0
        for entry in tensors {
            let bytes = entry.tensor.count * entry.tensor.dtype.byteCount
            if size > 0 && size + bytes > maximumShardBytes {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(entry)
            size += bytes
            total += bytes
        }
        guard shards.count > 1 else {
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: folder + "/model.safetensors")
            return
        }
        var map: [String: String] = [:]
        for (index, shard) in shards.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", index + 1, shards.count)
            try SafeTensorsWriter.write(shard, metadata: metadata, to: folder + "/" + name)
            for entry in shard { map[entry.name] = name }
        }
        let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": map]
        try AtomicFile.write(
            try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys]),
            to: folder + "/model.safetensors.index.json")
    }
}
