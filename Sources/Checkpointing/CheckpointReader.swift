import Foundation
import Interop
import Models
import Torch
import Training

/// A checkpoint folder in our format, checked on opening, loaded into an app state on request.
public struct CheckpointReader {
    public let folder: String
    /// The parsed `metadata.json`.
    public let metadata: [String: Any]
    private let shard: SafeTensorsFile

    public init(folder: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CheckpointError.unreadable(path: folder, reason: "no such folder")
        }
        let metadataPath = folder + "/" + CheckpointFormat.metadataFile
        guard let data = FileManager.default.contents(atPath: metadataPath) else {
            if FileManager.default.fileExists(atPath: folder + "/.metadata") {
                throw CheckpointError.unreadable(path: folder, reason: "this is a PyTorch distributed (DCP) checkpoint; this version reads its own format only (import PyTorch checkpoints with the interop commands)")
            }
            throw CheckpointError.unreadable(path: metadataPath, reason: "missing: the checkpoint was not completed (metadata.json is written last)")
        }
        guard let metadata = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CheckpointError.unreadable(path: metadataPath, reason: "not a JSON object")
        }
        guard metadata["format"] as? String == CheckpointFormat.name, let version = metadata["format_version"] as? Int else {
            throw CheckpointError.unreadable(path: metadataPath, reason: "not a \(CheckpointFormat.name) metadata file")
        }
        guard version <= CheckpointFormat.version else {
            throw CheckpointError.unreadable(path: metadataPath, reason: "format version \(version) is newer than this build reads (\(CheckpointFormat.version))")
        }
        guard let world = metadata["world"] as? [String: Any], let worldSize = world["world_size"] as? Int, worldSize == 1 else {
            throw CheckpointError.unreadable(path: metadataPath, reason: "checkpoints of several ranks need the distributed runtime, which loads them shard by shard")
        }
        do {
            shard = try SafeTensorsFile(path: folder + "/" + CheckpointFormat.shardFile(rank: 0))
        } catch let error as InteropError {
            throw CheckpointError.unreadable(path: folder + "/" + CheckpointFormat.shardFile(rank: 0), reason: error.description)
        }
        self.folder = folder
        self.metadata = metadata
    }

    /// Seen steps and tokens and the target recorded in the metadata.
    public var trainingProgress: [String: Int] { metadata["training_progress"] as? [String: Int] ?? [:] }

    /// A model parameter as saved.
    public func parameter(_ name: String) throws -> Tensor {
        try tensor(CheckpointFormat.modelPrefix + name)
    }

    private func tensor(_ name: String) throws -> Tensor {
        do {
            return try shard.tensor(name)
        } catch let error as InteropError {
            throw CheckpointError.mismatch(path: shard.path, reason: error.description)
        }
    }

    /// Whether `folder` looks like a checkpoint of ours (it has our metadata file).
    public static func isCheckpoint(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/" + CheckpointFormat.metadataFile)
    }

    /// Copies the saved parameters into `model`, checking names and shapes.
    public func loadParameters(into model: any Model) throws {
        for (name, _) in model.parameters.named {
            do {
                try model.parameters.load(name, from: try parameter(name))
            } catch let error as ModelError {
                throw CheckpointError.mismatch(path: shard.path, reason: error.description)
            }
        }
    }

    /// Copies parameters, optimizer state, scheduler position and the CPU random state into `appState`.
    public func load(into appState: AppState) throws {
        let saved = Set(shard.entries.keys.filter { $0.hasPrefix(CheckpointFormat.modelPrefix) }.map { String($0.dropFirst(CheckpointFormat.modelPrefix.count)) })
        let needed = appState.model.parameters.named.map(\.name)
        let missing = needed.filter { !saved.contains($0) }
        let unexpected = saved.subtracting(needed).sorted()
        guard missing.isEmpty, unexpected.isEmpty else {
            throw CheckpointError.mismatch(path: shard.path, reason: "parameters differ from the model's: missing \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", ..." : ""); unexpected \(unexpected.prefix(5).joined(separator: ", "))")
        }
        try loadParameters(into: appState.model)
        var state: [String: AdamOptimizer.ParameterState] = [:]
        for name in appState.optimizer.parameterNames {
            let prefix = CheckpointFormat.optimizerPrefix + name
            state[name] = AdamOptimizer.ParameterState(expAvg: try tensor(prefix + ".exp_avg"), expAvgSq: try tensor(prefix + ".exp_avg_sq"),
                                                       step: try tensor(prefix + ".step"))
        }
        do {
            try appState.optimizer.loadState(state)
        } catch let error as TrainingError {
            throw CheckpointError.mismatch(path: shard.path, reason: error.description)
        }
        if let scheduler = appState.scheduler {
            guard let saved = metadata["lr_scheduler"] as? [String: Any], let steps = saved["steps_taken"] as? Int else {
                throw CheckpointError.mismatch(path: folder + "/" + CheckpointFormat.metadataFile, reason: "the config has an lr_scheduler but the checkpoint saved none")
            }
            scheduler.restore(stepsTaken: steps)
        }
        try Generator.defaultCPU.setState(try tensor(CheckpointFormat.generatorTensor))
        appState.loadedFrom = folder
    }
}
