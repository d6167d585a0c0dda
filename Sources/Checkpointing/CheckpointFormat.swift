import Foundation
import Interop
import Models
import Parallelism
import Torch
import Training

/// Our checkpoint format, version 1 (specified in docs/checkpoint-format.md): per-rank safetensors shards plus
/// one `metadata.json` written last.
public enum CheckpointFormat {
    public static let name = "modalities-swift-checkpoint"
    public static let version = 1
    public static let metadataFile = "metadata.json"
    public static let lastCheckpointInfoFile = "last_checkpoint_info.json"

    static func shardFile(rank: Int) -> String { String(format: "rank_%05d.safetensors", rank) }

    static let modelPrefix = "model."
    static let optimizerPrefix = "optimizer.state."
    static let generatorTensor = "rng.cpu"

    /// Writes the app state into `folder`: this rank's shard, and with `writeMetadata` the metadata file (call it
    /// on one rank, after every shard is written). Each file is written atomically.
    ///
    /// A replicated model is whole in shard 0. A ``FullyShardedModel`` writes chunk `shardIndex` of every
    /// parameter and optimizer moment into shard `shardIndex` (`placement: flat_chunk`).
    ///
    /// - Parameter extra: more metadata entries (experiment id, resolved config, ...).
    public static func write(
        _ appState: AppState, progress: TrainingProgress, to folder: String, writeShard: Bool = true,
        writeMetadata: Bool = true, extra: [String: Any] = [:]
    ) throws {
        try appState.model.parameters.requireAllocated(for: "saving a checkpoint")
        let sharded = appState.model.unwrapped(as: FullyShardedModel.self)
        let rank = sharded?.shardGroup.rank ?? 0
        let worldSize = sharded?.shardCount ?? 1
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.unwritable(path: folder, reason: "\(error.localizedDescription)")
        }
        if writeShard {
            var tensors: [(name: String, tensor: Tensor)] = []
            for (name, tensor) in appState.model.parameters.named {
                tensors.append((modelPrefix + name, try tensor.detach()))
            }
            for (name, state) in try appState.adam(checkpoint: folder).state {
                tensors.append((optimizerPrefix + name + ".exp_avg", state.expAvg))
                tensors.append((optimizerPrefix + name + ".exp_avg_sq", state.expAvgSq))
                tensors.append((optimizerPrefix + name + ".step", state.step))
            }
            tensors.append((generatorTensor, try Generator.defaultCPU.state()))
            let shard = shardFile(rank: rank)
            do {
                try SafeTensorsWriter.write(tensors, metadata: ["format": name], checksums: true, to: folder + "/" + shard)
            } catch let error as InteropError {
                throw CheckpointError.unwritable(path: folder + "/" + shard, reason: error.description)
            }
        }
        guard writeMetadata else { return }

        let optimizer = try appState.adam(checkpoint: folder)
        var metadata: [String: Any] = [
            "format": name,
            "format_version": version,
            "created": ISO8601DateFormatter().string(from: Date()),
            "world": ["world_size": worldSize, "shards": (0..<worldSize).map { ["rank": $0, "file": shardFile(rank: $0)] }],
            "model": [
                "parameters": appState.model.parameters.named.map { entry -> [String: Any] in
                    [
                        "name": entry.name, "shape": sharded?.fullShape(of: entry.name) ?? entry.tensor.shape,
                        "dtype": "\(entry.tensor.dtype)",
                        "placement": sharded == nil ? "replicated" : "flat_chunk",
                    ]
                }
            ],
            "optimizer": [
                "type": optimizer.decoupledWeightDecay ? "adam_w" : "adam", "lr": optimizer.baseLearningRate,
                "betas": [optimizer.beta1, optimizer.beta2], "eps": optimizer.eps,
                "groups": optimizer.groups.map {
                    ["name": $0.name, "weight_decay": $0.weightDecay, "parameters": $0.parameterNames] as [String: Any]
                },
            ] as [String: Any],
            "training_progress": [
                "num_seen_steps": progress.numSeenStepsTotal, "num_seen_tokens": progress.numSeenTokensTotal,
                "num_target_steps": progress.numTargetSteps, "num_target_tokens": progress.numTargetTokens,
            ],
            "rng": ["cpu": generatorTensor],
        ]
        if let scheduler = appState.scheduler {
            metadata["lr_scheduler"] = ["steps_taken": scheduler.stepsTaken, "last_lr": optimizer.learningRate]
        }
        for (key, value) in extra { metadata[key] = value }
        let data = try JSONSerialization.data(withJSONObject: metadata, options: [.prettyPrinted, .sortedKeys])
        do {
            try AtomicFile.write(data, to: folder + "/" + metadataFile)
        } catch let error as InteropError {
            throw CheckpointError.unwritable(path: folder + "/" + metadataFile, reason: error.description)
        }
    }
}

/// A checkpoint that cannot be written or read, naming the file or entry.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unwritable(path: String, reason: String)
    case unreadable(path: String, reason: String)
    case mismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unwritable(path, reason): return "\(path): cannot write the checkpoint: \(reason)"
        case let .unreadable(path, reason): return "\(path): cannot read the checkpoint: \(reason)"
        case let .mismatch(path, reason): return "\(path): the checkpoint does not fit: \(reason)"
        }
    }
}
