import Foundation
import Interop
import Models
import Parallelism
import Torch
import Training

/// Our checkpoint format, version 1 (specified in docs/checkpoint-format.md): per-rank safetensors shards plus
/// one `metadata.json` written last.
public enum CheckpointFormat {
    public static let name = CheckpointMetadata.formatName
    /// The newest version written: 2 adds tensor-parallel slices (`tensor_parallel_degree`, `tensor_parallel_dim`),
    /// 3 pipeline stages (`pipeline_parallel_degree`, `pipeline_rank`); a checkpoint is written with the lowest
    /// version that describes it, so builds that read only version 1 still read every checkpoint without them.
    public static let version = CheckpointMetadata.newestVersion
    public static let metadataFile = CheckpointMetadata.fileName
    public static let lastCheckpointInfoFile = "last_checkpoint_info.json"

    static func shardFile(rank: Int) -> String { String(format: "rank_%05d.safetensors", rank) }

    static let modelPrefix = "model."
    static let optimizerPrefix = "optimizer.state."
    static let generatorTensor = "rng.cpu"

    /// Writes the app state into `folder`: this rank's shard, and with `writeMetadata` the metadata file (call it
    /// on one rank, after every shard is written). Each file is written atomically.
    ///
    /// A replicated model is whole in shard 0. A ``FullyShardedModel`` writes chunk `shardIndex` of every
    /// parameter and optimizer moment into shard `shardIndex` (`placement: flat_chunk`). Under tensor parallelism
    /// the shards are slice-major: shard `t · chunks + c` holds chunk c of slice t (``ParameterLayout``).
    ///
    /// Under pipeline parallelism each pipeline rank's stages fill their own block of shards (pipeline-rank-major),
    /// and each parameter records its block (`pipeline_rank`).
    ///
    /// - Parameters:
    ///   - extra: more metadata entries (experiment id, resolved config, ...).
    ///   - parameterDescriptions: the metadata's parameter list when this rank does not hold every parameter (every
    ///     rank's ``parameterDescriptions(of:)`` together); nil to describe this rank's.
    public static func write(
        _ appState: AppState, progress: TrainingProgress, to folder: String, writeShard: Bool = true,
        writeMetadata: Bool = true, extra: [String: Any] = [:], parameterDescriptions: [[String: Any]]? = nil
    ) throws {
        try appState.model.parameters.requireAllocated(for: "saving a checkpoint")
        let layout = ParameterLayout(of: appState.model)
        let rank = layout.pieceIndex
        let worldSize = layout.pieceCount
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
        let parameters = try parameterDescriptions ?? Self.parameterDescriptions(of: appState.model)
        var world: [String: Any] = ["world_size": worldSize, "shards": (0..<worldSize).map { ["rank": $0, "file": shardFile(rank: $0)] }]
        if layout.tensorParallelDegree > 1 { world["tensor_parallel_degree"] = layout.tensorParallelDegree }
        if layout.pipelineDegree > 1 { world["pipeline_parallel_degree"] = layout.pipelineDegree }
        var metadata: [String: Any] = [
            "format": name,
            // Earlier readers would put tensor-parallel slices (version 2) or pipeline blocks (3) together wrongly.
            "format_version": layout.pipelineDegree > 1 ? 3 : layout.tensorParallelDegree > 1 ? 2 : 1,
            "created": ISO8601DateFormatter().string(from: Date()),
            "world": world,
            "model": ["parameters": parameters],
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

extension CheckpointFormat {
    /// The metadata's entries for the parameters this rank's model holds: whole shape, dtype, placement, the
    /// tensor-parallel dimension of a split one, and under pipeline parallelism the pipeline rank whose shards hold it.
    public static func parameterDescriptions(of model: any Model) throws -> [[String: Any]] {
        let layout = ParameterLayout(of: model)
        return try model.parameters.named.map { entry -> [String: Any] in
            var description: [String: Any] = [
                "name": entry.name, "shape": try layout.wholeShape(of: entry.name, in: model), "dtype": "\(entry.tensor.dtype)",
                "placement": layout.sharded == nil ? "replicated" : "flat_chunk",
            ]
            if let dimension = layout.slicedDimension(of: entry.name) { description["tensor_parallel_dim"] = dimension }
            if layout.pipelineDegree > 1 { description["pipeline_rank"] = layout.pipelineRank }
            return description
        }
    }
}
