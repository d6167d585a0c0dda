import Distributed
import Foundation
import Interop
import Models
import Parallelism
import Torch
import Training

/// Modalities' FSDP1 checkpoint files (`checkpoint_saving_execution/fsdp1`): the full model state dict and the
/// full optimizer state dict as two `torch.save` files next to each other,
///
/// ```
/// <checkpoint_path>/eid_<id>-model-seen_steps_<s>-seen_tokens_<t>-target_steps_<S>-target_tokens_<T>.bin
/// <checkpoint_path>/eid_<id>-optimizer-seen_steps_<s>-...-target_tokens_<T>.bin
/// <checkpoint_path>/last_checkpoint_info.json    {"model_checkpoint_path": ..., "optimizer_checkpoint_path": ...}
/// ```
///
/// written by rank 0 after sharded tensors are gathered (every rank takes part). PyTorch loads them with
/// `torch.load(path, weights_only=True)`; the model file holds every parameter name (tied ones under each name, as
/// `state_dict()` does), the optimizer file `state` (per parameter name: `step`, `exp_avg`, `exp_avg_sq`) and
/// `param_groups` with parameter names, as FSDP1's full optimizer state dict.
public final class TorchStateDictWriter: CheckpointExecution {
    public let checkpointPath: String
    public let experimentID: String
    public let globalRank: Int
    /// Not stored: the format has no place for it.
    public var extraMetadata: [String: Any] = [:]

    /// The ranks that save together (they meet at a barrier once the files are written); nil on one rank.
    public let group: ProcessGroup?

    public init(checkpointPath: String, experimentID: String, globalRank: Int, group: ProcessGroup? = nil) {
        self.checkpointPath = checkpointPath
        self.experimentID = experimentID
        self.globalRank = globalRank
        self.group = group
    }

    /// The file of `entity` (`model` or `optimizer`) at `progress`.
    public func path(_ entity: String, _ progress: TrainingProgress) -> String {
        checkpointPath
            + "/eid_\(experimentID)-\(entity)-seen_steps_\(progress.numSeenStepsTotal)-seen_tokens_\(progress.numSeenTokensTotal)"
            + "-target_steps_\(progress.numTargetSteps)-target_tokens_\(progress.numTargetTokens).bin"
    }

    public func save(_ appState: AppState, progress: TrainingProgress) throws {
        try appState.model.parameters.requireAllocated(for: "saving a checkpoint")
        let layout = ParameterLayout(of: appState.model)
        func whole(_ tensor: Tensor, _ name: String) throws -> Tensor {
            try layout.whole(ofLocal: tensor, name: name)
        }
        // Gathered in parameter order on every rank; only rank 0 keeps them.
        var wholeParameters: [String: Tensor] = [:]
        for (name, tensor) in appState.model.parameters.named {
            let value = try whole(tensor, name)
            if globalRank == 0 { wholeParameters[name] = value }
        }
        var optimizerState: [(String, TorchCheckpointWriter.Value)] = []
        for (name, state) in try appState.adam(checkpoint: checkpointPath).state {
            let average = try whole(state.expAvg, name), square = try whole(state.expAvgSq, name)
            optimizerState.append(
                (
                    name,
                    .dict(
                        [("step", .tensor(state.step)), ("exp_avg", .tensor(average)), ("exp_avg_sq", .tensor(square))],
                        ordered: false)
                ))
        }
        if globalRank == 0 {
            try write(appState, progress: progress, parameters: wholeParameters, optimizerState: optimizerState)
        }
        try group?.barrier()
    }

    private func write(
        _ appState: AppState, progress: TrainingProgress, parameters: [String: Tensor],
        optimizerState: [(String, TorchCheckpointWriter.Value)]
    ) throws {
        do {
            try FileManager.default.createDirectory(atPath: checkpointPath, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.unwritable(path: checkpointPath, reason: error.localizedDescription)
        }
        // Every name of the model's own store (tied parameters under each of their names).
        let store = appState.model.unwrapped(as: (any BlockStructuredModel).self)?.parameters ?? appState.model.parameters
        let named = store.named
        var modelEntries: [(String, TorchCheckpointWriter.Value)] = []
        for name in store.names {
            let tensor = store.tensors[name]!
            let canonical = named.first { $0.tensor.isSame(as: tensor) }?.name ?? name
            guard let value = parameters[canonical] else {
                throw CheckpointError.unwritable(path: checkpointPath, reason: "no gathered value for parameter \(canonical)")
            }
            modelEntries.append((name, .tensor(value)))
        }
        let optimizer = try appState.adam(checkpoint: checkpointPath)
        let groups: [TorchCheckpointWriter.Value] = optimizer.groups.map { group in
            .dict(
                [
                    ("lr", .double(optimizer.learningRate)), ("betas", .tuple([.double(optimizer.beta1), .double(optimizer.beta2)])),
                    ("eps", .double(optimizer.eps)), ("weight_decay", .double(group.weightDecay)), ("amsgrad", .bool(false)),
                    ("foreach", .none), ("maximize", .bool(false)), ("capturable", .bool(false)), ("differentiable", .bool(false)),
                    ("fused", .bool(true)), ("initial_lr", .double(optimizer.baseLearningRate)),
                    ("params", .list(group.parameterNames.map { .string($0) })),
                ], ordered: false)
        }
        let modelPath = path("model", progress), optimizerPath = path("optimizer", progress)
        do {
            try TorchCheckpointWriter.write(.dict(modelEntries, ordered: true), to: modelPath)
            try TorchCheckpointWriter.write(
                .dict([("state", .dict(optimizerState, ordered: false)), ("param_groups", .list(groups))], ordered: false),
                to: optimizerPath)
            let info = try JSONSerialization.data(
                withJSONObject: [
                    "model_checkpoint_path": URL(fileURLWithPath: modelPath).standardizedFileURL.path,
                    "optimizer_checkpoint_path": URL(fileURLWithPath: optimizerPath).standardizedFileURL.path,
                ], options: [.sortedKeys, .withoutEscapingSlashes])
            try AtomicFile.write(info, to: checkpointPath + "/" + CheckpointFormat.lastCheckpointInfoFile)
        } catch let error as InteropError {
            throw CheckpointError.unwritable(path: checkpointPath, reason: error.description)
        }
    }

    public func delete(_ progress: TrainingProgress) throws {
        guard globalRank == 0 else { return }
        for path in [path("model", progress), path("optimizer", progress)] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw CheckpointError.unwritable(path: path, reason: "the checkpoint to delete does not exist")
            }
            try FileManager.default.removeItem(atPath: path)
        }
    }
}
