import Distributed
import Torch

/// Wall time of a training step's phases, summed over the steps after a warm-up (`modalities benchmark train
/// --config`): waiting for data, forward with the loss, backward, gradient synchronisation, clipping with the
/// optimizer and scheduler. Communication is measured on the side: the time blocked in collectives, wherever it fell
/// (FSDP gathers in forward and backward, DDP's bucketed all-reduces in backward and synchronisation).
///
/// On a GPU the device is synchronised before each reading of the clock, so a phase is charged with its kernels
/// (which costs a little overlap; the step time without the timer is what `tokens/s` in training logs shows).
public final class StepPhaseTimer {
    public enum Phase: String, CaseIterable, Sendable {
        case dataWait = "data_wait", forward, backward, gradientSync = "gradient_sync", optimizer
    }

    /// Steps not counted at the start.
    public let warmupSteps: Int
    /// Seconds per phase over the counted steps.
    public private(set) var seconds: [Phase: Double] = [:]
    /// Seconds blocked in collectives over the counted steps.
    public private(set) var communicationSeconds = 0.0
    /// Counted steps.
    public private(set) var countedSteps = 0
    private var finishedSteps = 0
    private var device: Device = .cpu
    private var lastMark: UInt64 = 0
    private var stepCommunicationStart = 0.0
    private var pending: [Phase: Double] = [:]

    public init(warmupSteps: Int) {
        self.warmupSteps = warmupSteps
    }

    /// Whole counted steps' seconds (the phases' sum).
    public var totalSeconds: Double { seconds.values.reduce(0, +) }

    /// Starts timing on `device` (the model's).
    func start(on device: Device) throws {
        self.device = device
        lastMark = try now()
        stepCommunicationStart = ProcessGroup.blockingSeconds
    }

    /// Charges the time since the last mark to `phase`.
    func mark(_ phase: Phase) throws {
        let time = try now()
        pending[phase, default: 0] += Double(time - lastMark) / 1e9
        lastMark = time
    }

    /// Closes an optimizer step: counts its phases unless it is a warm-up step.
    func finishStep() {
        finishedSteps += 1
        let communication = ProcessGroup.blockingSeconds
        if finishedSteps > warmupSteps {
            for (phase, value) in pending { seconds[phase, default: 0] += value }
            communicationSeconds += communication - stepCommunicationStart
            countedSteps += 1
        }
        pending = [:]
        stepCommunicationStart = communication
    }

    private func now() throws -> UInt64 { try Accelerator.uptimeNanoseconds(after: device) }
}
