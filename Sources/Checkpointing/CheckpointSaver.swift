import Training

/// A strategy and a writer together (`checkpoint_saving/default`).
public final class CheckpointSaver: CheckpointSaving {
    public let strategy: any CheckpointSavingStrategy
    public let writer: CheckpointWriter

    public init(strategy: any CheckpointSavingStrategy, writer: CheckpointWriter) {
        self.strategy = strategy
        self.writer = writer
    }

    public func saveCheckpoint(progress: TrainingProgress, appState: AppState) throws {
        let instruction = strategy.instruction(for: progress)
        if instruction.saveCurrent { try writer.save(appState, progress: progress) }
        for old in instruction.checkpointsToDelete { try writer.delete(old) }
    }
}
