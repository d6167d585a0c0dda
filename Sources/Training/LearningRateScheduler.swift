/// Drives an optimizer's learning rate from a schedule, one call per optimizer step (Modalities' `scheduler/*`).
public final class LearningRateScheduler {
    public let optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    /// Steps taken so far; the next step uses `schedule` at this index.
    public private(set) var stepsTaken: Int

    /// - Parameter lastEpoch: PyTorch's `last_epoch` (-1 for a fresh start).
    public init(optimizer: any Optimizer, schedule: LearningRateSchedule, lastEpoch: Int = -1) {
        self.optimizer = optimizer
        self.schedule = schedule
        stepsTaken = lastEpoch + 1
        apply()
    }

    /// Continues after `stepsTaken` steps (a checkpoint's), setting the optimizer's rate for the next step.
    public func restore(stepsTaken: Int) {
        self.stepsTaken = stepsTaken
        apply()
    }

    /// Advances after an optimizer step.
    public func step() {
        stepsTaken += 1
        apply()
    }

    /// Sets the optimizer's learning rate, and beta1 where the schedule cycles momentum, for the next step.
    private func apply() {
        optimizer.learningRate = schedule.learningRate(at: stepsTaken, base: optimizer.baseLearningRate)
        if let beta1 = schedule.beta1(at: stepsTaken) { optimizer.momentum = beta1 }
    }
}
