import Training

/// Whether to save now and which earlier checkpoints to delete (`checkpoint_saving_strategy/*`).
public protocol CheckpointSavingStrategy: AnyObject {
    func instruction(for progress: TrainingProgress) -> CheckpointingInstruction
}

public struct CheckpointingInstruction: Sendable, Equatable {
    public var saveCurrent: Bool
    public var checkpointsToDelete: [TrainingProgress]

    public init(saveCurrent: Bool, checkpointsToDelete: [TrainingProgress]) {
        self.saveCurrent = saveCurrent
        self.checkpointsToDelete = checkpointsToDelete
    }
}

/// Keeps the `k` most recent checkpoints (-1 keeps all, 0 saves none):
/// `checkpoint_saving_strategy/save_k_most_recent_checkpoints_strategy`.
public final class SaveKMostRecentCheckpoints: CheckpointSavingStrategy {
    public let k: Int
    private var saved: [TrainingProgress] = []

    public init(k: Int) throws {
        guard k >= -1 else { throw TrainingError.invalidConfig("k must be -1 (keep all), 0 (save none) or positive, found \(k)") }
        self.k = k
    }

    public func instruction(for progress: TrainingProgress) -> CheckpointingInstruction {
        guard k != 0 else { return CheckpointingInstruction(saveCurrent: false, checkpointsToDelete: []) }
        saved.insert(progress, at: 0)
        var delete: [TrainingProgress] = []
        if k > 0, saved.count > k { delete = [saved.removeLast()] }
        return CheckpointingInstruction(saveCurrent: true, checkpointsToDelete: delete)
    }
}

/// Saves whenever the total step count is a multiple of `k`, deleting nothing:
/// `checkpoint_saving_strategy/save_every_k_steps_checkpointing_strategy`.
public final class SaveEveryKSteps: CheckpointSavingStrategy {
    public let k: Int

    public init(k: Int) throws {
        guard k >= 1 else { throw TrainingError.invalidConfig("k must be 1 or greater, found \(k)") }
        self.k = k
    }

    public func instruction(for progress: TrainingProgress) -> CheckpointingInstruction {
        CheckpointingInstruction(saveCurrent: progress.numSeenStepsTotal % k == 0, checkpointsToDelete: [])
    }
}
