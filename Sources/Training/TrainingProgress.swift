/// Steps and tokens seen before this run and in it, and the run's target (Modalities' `TrainingProgress`).
public struct TrainingProgress: Sendable, Equatable {
    public var numSeenStepsPreviousRun: Int
    public var numSeenTokensPreviousRun: Int
    public var numSeenStepsCurrentRun = 0
    public var numSeenTokensCurrentRun = 0
    public var numTargetSteps: Int
    public var numTargetTokens: Int

    public init(numSeenStepsPreviousRun: Int, numSeenTokensPreviousRun: Int, numTargetSteps: Int, numTargetTokens: Int) {
        self.numSeenStepsPreviousRun = numSeenStepsPreviousRun
        self.numSeenTokensPreviousRun = numSeenTokensPreviousRun
        self.numTargetSteps = numTargetSteps
        self.numTargetTokens = numTargetTokens
    }

    public var numSeenStepsTotal: Int { numSeenStepsPreviousRun + numSeenStepsCurrentRun }
    public var numSeenTokensTotal: Int { numSeenTokensPreviousRun + numSeenTokensCurrentRun }
}
