/// Seconds of one optimizer step, by where they go.
public struct StepTime: Sendable, Equatable {
    /// Forward and backward (and recomputation) on this GPU.
    public var compute: Double
    /// Idle time of the pipeline's fill and drain.
    public var bubble: Double
    /// Communication not hidden behind compute: collectives' latency, what overlap cannot cover, tensor-parallel
    /// collectives and pipeline sends.
    public var exposedCommunication: Double
    /// All communication time, hidden or not.
    public var communication: Double
    /// The fraction of the peak the compute runs at.
    public var efficiency: Double

    public var step: Double { compute + bubble + exposedCommunication }
}

/// The planner's answer for one layout.
public struct RunPlan: Sendable {
    public var layout: ParallelLayout
    public var memory: MemoryEstimate
    /// Whether ``memory`` fits the GPU.
    public var fits: Bool
    public var memoryBytes: Double
    public var time: StepTime
    public var tokensPerSecond: Double
    /// Model FLOPs utilisation by Modalities' formula (6·N + 12·L·T·d per token).
    public var mfu: Double
    /// GPU-hours to train the target tokens, when known.
    public var gpuHours: Double?
}
