import DataFormats
import Foundation
import Interop
import Models
import Parallelism
import Torch
import Training

/// Loads checkpoints PyTorch wrote for Modalities into our app state and models: DCP folders of its app state
/// (`{"app": {"model", "optimizer", "lr_scheduler"}}`, Modalities' default) and `torch.save` files (FSDP1 model and
/// optimizer `.bin` files, plain state dicts). Parameter names are Modalities' own, which ours are.
public enum PyTorchCheckpointLoading {
    /// Copies a Modalities DCP app state into `appState`: parameters, Adam state by parameter name, the scheduler's
    /// position (`last_epoch`).
    public static func load(dcp folder: String, into appState: AppState) throws {
        let checkpoint: DistributedCheckpoint
        do {
            checkpoint = try DistributedCheckpoint(folder: folder)
        } catch let error as InteropError {
            throw CheckpointError.unreadable(path: folder, reason: error.description)
        }
        try loadModel(appState.model, from: checkpoint.tensors, prefix: "app.model.", source: folder)
        try loadOptimizer(
            appState.adam(checkpoint: folder), tensors: checkpoint.tensors, values: checkpoint.values, prefix: "app.optimizer.state.",
            source: folder)
        if let scheduler = appState.scheduler {
            guard case .int(let lastEpoch)? = checkpoint.values["app.lr_scheduler.last_epoch"] else {
                throw CheckpointError.mismatch(
                    path: folder, reason: "the config has an lr_scheduler but the checkpoint has no lr_scheduler.last_epoch")
            }
            scheduler.restore(stepsTaken: lastEpoch)
        }
        appState.loadedFrom = folder
    }

    /// Copies a `torch.save` state dict (a model's, possibly nested under `model`) into `model`.
    public static func load(torchFile path: String, into model: any Model) throws {
        let checkpoint: TorchCheckpoint
        do {
            checkpoint = try TorchCheckpoint(path: path)
        } catch let error as InteropError {
            throw CheckpointError.unreadable(path: path, reason: error.description)
        }
        let first = model.parameters.named.first?.name ?? ""
        let prefix = checkpoint.tensors[first] != nil ? "" : (checkpoint.tensors["model." + first] != nil ? "model." : "")
        try loadModel(model, from: checkpoint.tensors, prefix: prefix, source: path)
    }

    /// Copies a `torch.save` optimizer state dict keyed by parameter name (Modalities' FSDP1 optimizer `.bin`)
    /// into `optimizer`.
    public static func load(torchOptimizerFile path: String, into optimizer: AdamOptimizer) throws {
        let checkpoint: TorchCheckpoint
        do {
            checkpoint = try TorchCheckpoint(path: path)
        } catch let error as InteropError {
            throw CheckpointError.unreadable(path: path, reason: error.description)
        }
        try loadOptimizer(optimizer, tensors: checkpoint.tensors, values: checkpoint.values, prefix: "state.", source: path)
    }

    static func loadOptimizer(
        _ optimizer: AdamOptimizer, tensors: [String: Tensor], values: [String: DataFormats.Pickle.Value], prefix: String,
        source: String
    ) throws {
        var state: [String: AdamOptimizer.ParameterState] = [:]
        for name in optimizer.parameterNames {
            let key = prefix + name + "."
            guard let average = tensors[key + "exp_avg"], let square = tensors[key + "exp_avg_sq"] else {
                throw CheckpointError.mismatch(path: source, reason: "no Adam state (exp_avg, exp_avg_sq) for \(name)")
            }
            let step: Tensor
            if let tensor = tensors[key + "step"] {
                step = try tensor.to(dtype: .float32).reshape([])
            } else if case .int(let count)? = values[key + "step"] {
                step = try Tensor(scalar: Float(count))
            } else if case .float(let count)? = values[key + "step"] {
                step = try Tensor(scalar: Float(count))
            } else {
                throw CheckpointError.mismatch(path: source, reason: "no Adam step for \(name)")
            }
            // A sharded model's optimizer keeps this rank's chunk of each moment.
            let layout = ParameterLayout(of: optimizer.model)
            func local(_ whole: Tensor) throws -> Tensor {
                do {
                    return try layout.local(ofWhole: whole, name: name)
                } catch let error as ParallelismError {
                    throw CheckpointError.mismatch(path: source, reason: error.description)
                }
            }
            state[name] = AdamOptimizer.ParameterState(
                expAvg: try local(try average.to(dtype: .float32)),
                expAvgSq: try local(try square.to(dtype: .float32)), step: step)
        }
        do {
            try optimizer.loadState(state)
        } catch let error as TrainingError {
            throw CheckpointError.mismatch(path: source, reason: error.description)
        }
    }

    public static func loadModel(_ model: any Model, from tensors: [String: Tensor], prefix: String, source: String) throws {
        let missing = model.parameters.named.map(\.name).filter { tensors[prefix + $0] == nil }
        guard missing.isEmpty else {
            throw CheckpointError.mismatch(
                path: source,
                reason: "no tensor for \(missing.prefix(5).map { prefix + $0 }.joined(separator: ", "))\(missing.count > 5 ? ", ..." : "")")
        }
        let layout = ParameterLayout(of: model)
        for (name, parameter) in model.parameters.named {
            do {
                let whole = try tensors[prefix + name]!.to(dtype: parameter.dtype)
                try model.parameters.load(name, from: try layout.local(ofWhole: whole, name: name))
            } catch let error as ModelError {
                throw CheckpointError.mismatch(path: source, reason: error.description)
            } catch let error as ParallelismError {
                throw CheckpointError.mismatch(path: source, reason: error.description)
            }
        }
    }
}
