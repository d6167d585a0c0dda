import Foundation
import Interop
import Models
import Parallelism
import Torch
import Training

/// A checkpoint folder in our format, checked on opening, loaded into an app state on request.
public struct CheckpointReader {
    public let folder: String
    /// The parsed `metadata.json`.
    public let metadata: [String: Any]
    /// The shard files, by rank.
    private let shards: [SafeTensorsFile]
    /// Whole shapes of the saved parameters by name.
    private let savedShapes: [String: [Int]]
    /// The dimension each tensor-parallel parameter was sliced along, by name.
    private let slicedDimensions: [String: Int]
    /// The pipeline rank whose block of shards holds each parameter (none without pipeline parallelism).
    private let pipelineRanks: [String: Int]
    /// Ranks the saved model's split parameters were sliced over (1 without tensor parallelism).
    public let tensorParallelDegree: Int
    /// Blocks of shards, one per pipeline rank of the run that wrote it (1 without pipeline parallelism).
    public let pipelineDegree: Int
    private var shard: SafeTensorsFile { shards[0] }

    /// Opens the checkpoint in `folder`, checking its metadata and, with `verifyChecksums` (the default), every
    /// tensor of every shard against the CRC-32 its shard records, so a corrupted file is refused before anything
    /// is loaded. Shards written before checksums existed load unverified, with a warning on standard error.
    public init(folder: String, verifyChecksums: Bool = true) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CheckpointError.unreadable(path: folder, reason: "no such folder")
        }
        let metadataPath = folder + "/" + CheckpointFormat.metadataFile
        guard let data = FileManager.default.contents(atPath: metadataPath) else {
            if FileManager.default.fileExists(atPath: folder + "/.metadata") {
                throw CheckpointError.unreadable(
                    path: folder,
                    reason:
                        "this is a PyTorch distributed (DCP) checkpoint; this version reads its own format only (import PyTorch checkpoints with the interop commands)"
                )
            }
            throw CheckpointError.unreadable(
                path: metadataPath, reason: "missing: the checkpoint was not completed (metadata.json is written last)")
        }
        let parsed = try CheckpointMetadata(data: data, path: metadataPath)
        let worldSize = parsed.worldSize
        var shards: [SafeTensorsFile] = []
        for rank in 0..<worldSize {
            let path = folder + "/" + CheckpointFormat.shardFile(rank: rank)
            do {
                let shard = try SafeTensorsFile(path: path)
                if verifyChecksums {
                    if shard.hasChecksums {
                        try shard.verifyChecksums()
                    } else {
                        FileHandle.standardError.write(
                            Data("warning: \(path) records no checksums (written before they existed); loading it unverified\n".utf8))
                    }
                }
                shards.append(shard)
            } catch let error as InteropError {
                throw CheckpointError.unreadable(path: path, reason: error.description)
            }
        }
        self.shards = shards
        savedShapes = parsed.shapes
        slicedDimensions = parsed.slicedDimensions
        pipelineRanks = parsed.pipelineRanks
        pipelineDegree = parsed.pipelineDegree
        tensorParallelDegree = parsed.tensorParallelDegree
        self.folder = folder
        metadata = parsed.entries
    }

    /// Seen steps and tokens and the target recorded in the metadata.
    public var trainingProgress: [String: Int] { metadata["training_progress"] as? [String: Int] ?? [:] }

    /// Number of shards the checkpoint was written in (1 for replicated models).
    public var shardCount: Int { shards.count }

    /// A model parameter as saved, whole (chunks of sharded checkpoints are put together).
    public func parameter(_ name: String) throws -> Tensor {
        try whole(CheckpointFormat.modelPrefix + name, parameter: name)
    }

    /// Entry `name` of the first shard (scalars and replicated tensors).
    private func tensor(_ name: String, rank: Int = 0) throws -> Tensor {
        do {
            return try shards[rank].tensor(name)
        } catch let error as InteropError {
            throw CheckpointError.mismatch(path: shards[rank].path, reason: error.description)
        }
    }

    /// Entry `name`, shaped like `parameter`, whole. Shards are slice-major (``ParameterLayout``): each
    /// tensor-parallel slice is the concatenation of its shards' flat chunks, and a sliced parameter is its slices
    /// put together along `tensor_parallel_dim` (a replicated one is slice 0).
    private func whole(_ name: String, parameter: String) throws -> Tensor {
        guard shards.count > 1 else { return try tensor(name) }
        guard let shape = savedShapes[parameter] else {
            throw CheckpointError.mismatch(path: folder + "/" + CheckpointFormat.metadataFile, reason: "no shape recorded for \(parameter)")
        }
        let first = firstShard(of: parameter)
        let chunks = shards.count / pipelineDegree / tensorParallelDegree
        func slice(_ index: Int, shape: [Int]) throws -> Tensor {
            let files = (first + index * chunks)..<(first + (index + 1) * chunks)
            let flat = try Tensor.cat(try files.map { try tensor(name, rank: $0).reshape([-1]) })
            guard flat.count == shape.reduce(1, *) else {
                throw CheckpointError.mismatch(
                    path: folder,
                    reason: "the chunks of \(name) hold \(flat.count) elements, its shape \(shape) needs \(shape.reduce(1, *))")
            }
            return try flat.view(shape)
        }
        guard let dimension = slicedDimensions[parameter] else { return try slice(0, shape: shape) }
        var sliceShape = shape
        sliceShape[dimension] /= tensorParallelDegree
        return try Tensor.cat(try (0..<tensorParallelDegree).map { try slice($0, shape: sliceShape) }, dim: dimension)
    }

    /// What `model` keeps of a whole tensor shaped like `parameter`: all of it, its tensor-parallel slice, or the
    /// chunk of either when sharded.
    /// The first shard of the block that holds `parameter`: its pipeline rank's (slices × chunks shards each).
    private func firstShard(of parameter: String) -> Int {
        (pipelineRanks[parameter] ?? 0) * (shards.count / pipelineDegree)
    }

    private func local(_ whole: Tensor, parameter: String, in model: any Model) throws -> Tensor {
        do {
            return try ParameterLayout(of: model).local(ofWhole: whole, name: parameter)
        } catch let error as ParallelismError {
            throw CheckpointError.mismatch(path: folder, reason: error.description)
        } catch let error as ModelError {
            throw CheckpointError.mismatch(path: folder, reason: error.description)
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
                try model.parameters.load(name, from: try local(try parameter(name), parameter: name, in: model))
            } catch let error as ModelError {
                throw CheckpointError.mismatch(path: shard.path, reason: error.description)
            }
        }
    }

    /// Copies parameters, optimizer state, scheduler position and the CPU random state into `appState`.
    public func load(into appState: AppState) throws {
        // Every block of shards together (each pipeline rank's holds its stages' parameters).
        let saved = Set(
            shards.flatMap(\.entries.keys).filter { $0.hasPrefix(CheckpointFormat.modelPrefix) }.map {
                String($0.dropFirst(CheckpointFormat.modelPrefix.count))
            })
        let needed = appState.model.parameters.named.map(\.name)
        let missing = needed.filter { !saved.contains($0) }
        // A pipeline rank holds some stages: the checkpoint's other parameters must belong to the whole model.
        let wholeModel = try (appState.model as? PipelineModelParts)?.parts.first?.unwrapped(as: GPT2LLM.self)?.wholeModelLayout()
        let unexpected = saved.subtracting(wholeModel.map { $0.parameters.named.map(\.name) } ?? needed).sorted()
        guard missing.isEmpty, unexpected.isEmpty else {
            throw CheckpointError.mismatch(
                path: shard.path,
                reason:
                    "parameters differ from the model's: missing \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", ..." : ""); unexpected \(unexpected.prefix(5).joined(separator: ", "))"
            )
        }
        try loadParameters(into: appState.model)
        var state: [String: AdamOptimizer.ParameterState] = [:]
        for name in appState.optimizer.parameterNames {
            let prefix = CheckpointFormat.optimizerPrefix + name
            state[name] = AdamOptimizer.ParameterState(
                expAvg: try local(try whole(prefix + ".exp_avg", parameter: name), parameter: name, in: appState.model),
                expAvgSq: try local(try whole(prefix + ".exp_avg_sq", parameter: name), parameter: name, in: appState.model),
                step: try tensor(prefix + ".step", rank: firstShard(of: name)))
        }
        do {
            try appState.adam(checkpoint: folder).loadState(state)
        } catch let error as TrainingError {
            throw CheckpointError.mismatch(path: shard.path, reason: error.description)
        }
        if let scheduler = appState.scheduler {
            guard let saved = metadata["lr_scheduler"] as? [String: Any], let steps = saved["steps_taken"] as? Int else {
                throw CheckpointError.mismatch(
                    path: folder + "/" + CheckpointFormat.metadataFile,
                    reason: "the config has an lr_scheduler but the checkpoint saved none")
            }
            scheduler.restore(stepsTaken: steps)
        }
        // Each shard's writer saved its generator; a rank continues with its own when the layout is the same.
        let shardIndex = ParameterLayout(of: appState.model).pieceIndex
        try Generator.defaultCPU.setState(try tensor(CheckpointFormat.generatorTensor, rank: shardIndex < shards.count ? shardIndex : 0))
        appState.loadedFrom = folder
    }
}
