/// A profiler stepped once per unit of work (Modalities' `SteppableProfilerIF`): entered before the first step,
/// stepped after each, exited at the end. The trainer steps it once per micro batch; `modalities profile
/// distributed` steps it after each step of a steppable component, for ``stepCount`` steps.
public protocol SteppableProfiler: AnyObject {
    /// How many steps the profiler needs to finish its schedule (-1: any number).
    var stepCount: Int { get }
    /// Starts the schedule (recording at once when it has no wait or warm-up steps).
    func enter() throws
    /// Marks the end of one step.
    func step() throws
    /// Ends the schedule, writing what was recorded if the last active step was not reached.
    func exit() throws
}

/// `steppable_profiler/no_profiler`, and what a profiler becomes on a rank it does not track.
public final class NoProfiler: SteppableProfiler {
    public let stepCount: Int

    public init(stepCount: Int = -1) { self.stepCount = stepCount }

    public func enter() throws {}
    public func step() throws {}
    public func exit() throws {}
}

/// `steppable_profiler/combined`: several profilers stepped together; it runs for the longest of them.
public final class CombinedProfiler: SteppableProfiler {
    public let profilers: [any SteppableProfiler]

    public init(_ profilers: [any SteppableProfiler]) { self.profilers = profilers }

    public var stepCount: Int { profilers.map(\.stepCount).max() ?? -1 }

    public func enter() throws { for profiler in profilers { try profiler.enter() } }
    public func step() throws { for profiler in profilers { try profiler.step() } }
    public func exit() throws { for profiler in profilers { try profiler.exit() } }
}

/// torch.profiler's `schedule(wait, warmup, active)` for one cycle: steps before recording, steps with the tracer
/// set up but not recording, and recorded steps.
public struct ProfilerSchedule: Sendable, Equatable {
    public var waitSteps: Int
    public var warmupSteps: Int
    public var activeSteps: Int

    public init(waitSteps: Int, warmupSteps: Int, activeSteps: Int) {
        self.waitSteps = waitSteps
        self.warmupSteps = warmupSteps
        self.activeSteps = activeSteps
    }

    public var totalSteps: Int { waitSteps + warmupSteps + activeSteps }

    /// What happens once `stepsDone` steps are finished (0: on entering).
    public enum Action: Equatable, Sendable {
        case none, prepare, start, stop
    }

    public func action(afterSteps stepsDone: Int) -> Action {
        guard activeSteps > 0 else { return .none }
        if stepsDone == totalSteps { return .stop }
        if stepsDone == waitSteps + warmupSteps { return .start }
        if stepsDone == waitSteps && warmupSteps > 0 { return .prepare }
        return .none
    }
}

/// Where a profiler is in its schedule: entered, steps done, exited — with the misuse errors both tracing profilers
/// share.
struct ScheduleCursor {
    let schedule: ProfilerSchedule
    /// The profiler's name in errors ("the kernel profiler").
    let owner: String
    private(set) var stepsDone: Int?

    init(_ schedule: ProfilerSchedule, owner: String) {
        self.schedule = schedule
        self.owner = owner
    }

    /// Enters the schedule; returns what to do before the first step.
    mutating func enter() throws -> ProfilerSchedule.Action {
        guard stepsDone == nil else { throw ProfilingError.misuse("\(owner) was entered twice") }
        stepsDone = 0
        return schedule.action(afterSteps: 0)
    }

    /// Counts a step; returns what to do after it.
    mutating func step() throws -> ProfilerSchedule.Action {
        guard let done = stepsDone else { throw ProfilingError.misuse("\(owner) was stepped before it was entered") }
        stepsDone = done + 1
        return schedule.action(afterSteps: done + 1)
    }

    /// Leaves the schedule; returns the steps done.
    mutating func exit() throws -> Int {
        guard let done = stepsDone else { throw ProfilingError.misuse("\(owner) was exited before it was entered") }
        stepsDone = nil
        return done
    }
}
