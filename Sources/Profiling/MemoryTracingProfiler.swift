import DataFormats
import Foundation
import Torch

/// `steppable_profiler/memory_tracing`: the allocator's history over the active steps of the schedule, written after
/// the last one as `memory_snapshot_ranks_<world>_rank_<rank>.pkl`, the snapshot PyTorch's memory visualiser
/// (pytorch.org/memory_viz) opens. On a GPU it is the CUDA caching allocator's own snapshot
/// (`torch.cuda.memory._dump_snapshot`); on the CPU the shim's allocator's events in the same layout: one device
/// trace of `alloc`, `free_requested` and `free_completed` actions with address, size and time, and no segments.
///
/// Beside it, `…_steps.json` holds the peak bytes of each recorded step and of them all (the allocator's peak
/// counter, reset at each step: the CPU allocator's count, or the CUDA caching allocator's allocated bytes).
public final class MemoryTracingProfiler: SteppableProfiler {
    /// Modalities' `MEMORY_SNAPSHOT_MAX_ENTRIES`.
    public static let maximumEvents = 100_000

    public let schedule: ProfilerSchedule
    public let device: Device
    public let snapshotFile: String
    private let log: (String) -> Void
    private var cursor: ScheduleCursor
    private var recording = false
    /// Peak bytes of each recorded step, by the step's number (1-based, over the whole schedule).
    public private(set) var stepPeaks: [(step: Int, bytes: Int)] = []
    private var stepNumber = 0

    public init(schedule: ProfilerSchedule, device: Device, snapshotFile: String, log: @escaping (String) -> Void = { _ in }) {
        self.schedule = schedule
        cursor = ScheduleCursor(schedule, owner: "the memory profiler")
        self.device = device
        self.snapshotFile = snapshotFile
        self.log = log
    }

    public var stepCount: Int { schedule.totalSteps }

    public func enter() throws {
        try perform(try cursor.enter())
    }

    public func step() throws {
        stepNumber += 1
        if recording { try recordStepPeak() }
        try perform(try cursor.step())
    }

    public func exit() throws {
        let done = try cursor.exit()
        if recording {
            log("the memory profiler stopped after \(done) of its \(schedule.totalSteps) steps; writing the history recorded so far")
            try recordStepPeak()
            try finish()
        }
    }

    /// The peak since the last reset is the step's that just ended; the next step starts a new one.
    private func recordStepPeak() throws {
        stepPeaks.append((stepNumber, try Memory.peakBytes(on: device)))
        try Memory.resetPeak(on: device)
    }

    /// `memory_snapshot_….pkl` → `memory_snapshot_…_steps.json`.
    public var stepsFile: String {
        (snapshotFile.hasSuffix(".pkl") ? String(snapshotFile.dropLast(4)) : snapshotFile) + "_steps.json"
    }

    private func perform(_ action: ProfilerSchedule.Action) throws {
        switch action {
        case .none, .prepare: break
        case .start:
            try MemoryHistory.start(on: device, maxEntries: Self.maximumEvents)
            try Memory.resetPeak(on: device)
            recording = true
        case .stop:
            if recording { try finish() }
        }
    }

    private func finish() throws {
        recording = false
        try FileManager.default.createDirectory(
            atPath: (snapshotFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let peak = stepPeaks.map(\.bytes).max() ?? 0
        let summary: [String: Any] = [
            "device": "\(device)", "peak_bytes": peak,
            "steps": stepPeaks.map { ["step": $0.step, "peak_bytes": $0.bytes] },
        ]
        guard
            FileManager.default.createFile(
                atPath: stepsFile, contents: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted]))
        else { throw ProfilingError.io(path: stepsFile) }
        log(String(format: "memory: peak %.1f MiB over %ld recorded steps (%@)", Double(peak) / 1_048_576, stepPeaks.count, stepsFile))
        if device.kind == .cuda {
            try MemoryHistory.saveCUDASnapshot(to: snapshotFile)
            try MemoryHistory.stop(on: device)
            return
        }
        try MemoryHistory.stop(on: device)
        let bytes = try Pickle.encode(Self.cpuSnapshot(MemoryHistory.cpuEvents()))
        guard FileManager.default.createFile(atPath: snapshotFile, contents: Data(bytes)) else {
            throw ProfilingError.io(path: snapshotFile)
        }
    }

    /// The CPU history in the layout of `torch.cuda.memory._snapshot()`.
    static func cpuSnapshot(_ events: [MemoryHistory.Event]) -> Pickle.Value {
        func entry(_ action: String, _ event: MemoryHistory.Event) -> Pickle.Value {
            .dict([
                .init(key: .string("action"), value: .string(action)),
                .init(key: .string("addr"), value: .int(Int(truncatingIfNeeded: event.address))),
                .init(key: .string("size"), value: .int(event.bytes)), .init(key: .string("stream"), value: .int(0)),
                .init(key: .string("time_us"), value: .int(Int(event.timeMicroseconds))), .init(key: .string("frames"), value: .list([])),
            ])
        }
        var trace: [Pickle.Value] = []
        trace.reserveCapacity(events.count * 2)
        for event in events {
            switch event.action {
            case .alloc: trace.append(entry("alloc", event))
            case .free:
                // The CPU frees at once: the request and its completion are the same moment.
                trace.append(entry("free_requested", event))
                trace.append(entry("free_completed", event))
            }
        }
        return .dict([
            .init(key: .string("segments"), value: .list([])),
            .init(key: .string("device_traces"), value: .list([.list(trace)])),
            .init(key: .string("allocator_settings"), value: .dict([])),
        ])
    }
}
