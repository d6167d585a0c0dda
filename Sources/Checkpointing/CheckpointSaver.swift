import Training

/// How checkpoints are written and removed (`checkpoint_saving_execution/*`).
public protocol CheckpointExecution: AnyObject {
    /// Extra metadata stored with every checkpoint where the format has room for it (e.g. the resolved config).
    var extraMetadata: [String: Any] { get set }
    /// Writes the checkpoint of `progress`; every rank calls it.
    func save(_ appState: AppState, progress: TrainingProgress) throws
    /// Removes the checkpoint written at `progress`.
    func delete(_ progress: TrainingProgress) throws
}

extension CheckpointWriter: CheckpointExecution {}

/// A strategy and a writer together (`checkpoint_saving/default`).
public final class CheckpointSaver: CheckpointSaving {
    public let strategy: any CheckpointSavingStrategy
    public let writer: any CheckpointExecution

    public init(strategy: any CheckpointSavingStrategy, writer: any CheckpointExecution) {
        self.strategy = strategy
        self.writer = writer
    }

    public func saveCheckpoint(progress: TrainingProgress, appState: AppState) throws {
        let instruction = strategy.instruction(for: progress)
        if instruction.saveCurrent { try writer.save(appState, progress: progress) }
        for old in instruction.checkpointsToDelete { try writer.delete(old) }
    }
}
