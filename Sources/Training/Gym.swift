import DataLoading
import Observability

/// Training with evaluation and checkpointing at their intervals (Modalities' `Gym`): the generic driver the
/// `run` and `warmstart` commands hand a built config to.
public final class Gym {
    public let trainer: Trainer
    public let evaluator: Evaluator
    public let loss: any Loss

    public init(trainer: Trainer, evaluator: Evaluator, loss: any Loss) {
        self.trainer = trainer
        self.evaluator = evaluator
        self.loss = loss
    }

    /// Trains to the target; evaluates every `evaluationInterval` steps and offers a checkpoint every
    /// `checkpointingInterval` steps (counted in total steps, so a resumed run keeps the same rhythm).
    public func run(
        appState: AppState, trainLoader: DataLoader, evaluationLoaders: [DataLoader],
        checkpointSaving: (any CheckpointSaving)?, logInterval: Int, checkpointingInterval: Int,
        evaluationInterval: Int
    ) throws {
        try trainer.train(appState: appState, loader: trainLoader, loss: loss, logInterval: logInterval) { progress in
            let steps = progress.numSeenStepsTotal
            if steps % evaluationInterval == 0, !evaluationLoaders.isEmpty {
                try evaluator.evaluate(model: appState.model, loaders: evaluationLoaders, loss: loss, stepsDone: steps)
            }
            if steps % checkpointingInterval == 0, let checkpointSaving {
                try checkpointSaving.saveCheckpoint(progress: progress, appState: appState)
            }
        }
    }
}
