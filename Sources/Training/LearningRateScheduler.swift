/// Drives an optimizer's learning rate from a schedule, one call per optimizer step (Modalities' `scheduler/*`).
public final class LearningRateScheduler {
    public let optimizer: AdamOptimizer
    public let schedule: LearningRateSchedule
    /// Steps taken so far; the next step uses `schedule` at this index.
    public private(set) var stepsTaken: Int

    /// - Parameter lastEpoch: PyTorch's `last_epoch` (-1 for a fresh start).
    public init(optimizer: AdamOptimizer, schedule: LearningRateSchedule, lastEpoch: Int = -1) {
        self.optimizer = optimizer
        self.schedule = schedule
        stepsTaken = lastEpoch + 1
        optimizer.learningRate = schedule.learningRate(at: stepsTaken, base: optimizer.baseLearningRate)
    }

    /// Continues after `stepsTaken` steps (a checkpoint's), setting the optimizer's rate for the next step.
    public func restore(stepsTaken: Int) {
        self.stepsTaken = stepsTaken
        optimizer.learningRate = schedule.learningRate(at: stepsTaken, base: optimizer.baseLearningRate)
    }

    /// Advances after an optimizer step.
    public func step() {
        stepsTaken += 1
        optimizer.learningRate = schedule.learningRate(at: stepsTaken, base: optimizer.baseLearningRate)
    }
}
