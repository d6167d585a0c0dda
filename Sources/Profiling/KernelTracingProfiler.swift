import Foundation
import Torch

/// `steppable_profiler/kernel_tracing`: libtorch's profiler (``KinetoTrace``) on torch.profiler's schedule. After
/// the last active step it writes the trace as Chrome-trace JSON and a per-operator summary table (self time, total
/// time, calls), the files Modalities writes: `profiler_trace_ranks_<world>_rank_<rank>.json` and
/// `profiler_summary_ranks_<world>_rank_<rank>.txt`.
public final class KernelTracingProfiler: SteppableProfiler {
    public let schedule: ProfilerSchedule
    public let options: KinetoTrace.Options
    public let traceFile: String
    public let summaryFile: String
    private let log: (String) -> Void
    private var cursor: ScheduleCursor
    private var recording = false
    private var exported = false

    /// - Parameter log: where a run that ends before the last active step is reported.
    public init(
        schedule: ProfilerSchedule, options: KinetoTrace.Options, traceFile: String, summaryFile: String,
        log: @escaping (String) -> Void = { _ in }
    ) {
        self.schedule = schedule
        cursor = ScheduleCursor(schedule, owner: "the kernel profiler")
        self.options = options
        self.traceFile = traceFile
        self.summaryFile = summaryFile
        self.log = log
    }

    public var stepCount: Int { schedule.totalSteps }

    public func enter() throws {
        exported = false
        try perform(try cursor.enter())
    }

    public func step() throws { try perform(try cursor.step()) }

    public func exit() throws {
        let done = try cursor.exit()
        if recording {
            log(
                "the kernel profiler stopped after \(done) of its \(schedule.totalSteps) steps; writing the \(done - schedule.waitSteps - schedule.warmupSteps) active steps recorded so far"
            )
            try finish()
        }
    }

    private func perform(_ action: ProfilerSchedule.Action) throws {
        switch action {
        case .none: break
        case .prepare: try KinetoTrace.prepare(options)
        case .start:
            try KinetoTrace.start(options)
            try OperatorProfile.start()
            recording = true
        case .stop:
            if recording { try finish() }
        }
    }

    private func finish() throws {
        recording = false
        let operators = try OperatorProfile.stop()
        try KinetoTrace.stop()
        guard !exported else { return }
        exported = true
        for file in [traceFile, summaryFile] {
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        try KinetoTrace.save(to: traceFile)
        guard FileManager.default.createFile(atPath: summaryFile, contents: Data(Self.summaryTable(operators).utf8)) else {
            throw ProfilingError.io(path: summaryFile)
        }
    }

    /// The operators by self time, as a text table (torch.profiler's `key_averages().table()` columns that the CPU
    /// side has: self time, its share, total time, calls, time per call).
    public static func summaryTable(_ operators: [OperatorProfile.Entry]) -> String {
        let totalSelf = operators.reduce(0) { $0 + $1.selfSeconds }
        let nameWidth = min(60, max(4, operators.map(\.name.count).max() ?? 4))
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + padding : padding + text
        }
        func ms(_ seconds: Double) -> String { String(format: "%.3fms", seconds * 1000) }
        let header =
            pad("Name", nameWidth, left: true) + "  " + pad("Self CPU %", 11) + "  " + pad("Self CPU", 12) + "  "
            + pad("CPU total", 12) + "  " + pad("CPU time avg", 12) + "  " + pad("# of Calls", 10)
        let rule = String(repeating: "-", count: header.count)
        var lines = [rule, header, rule]
        for entry in operators {
            lines.append(
                pad(String(entry.name.prefix(nameWidth)), nameWidth, left: true) + "  "
                    + pad(String(format: "%.2f%%", totalSelf > 0 ? entry.selfSeconds / totalSelf * 100 : 0), 11) + "  "
                    + pad(ms(entry.selfSeconds), 12) + "  " + pad(ms(entry.totalSeconds), 12) + "  "
                    + pad(ms(entry.totalSeconds / Double(max(entry.calls, 1))), 12) + "  " + pad(String(entry.calls), 10))
        }
        lines.append(rule)
        lines.append("Self CPU time total: \(ms(totalSelf))")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A profiler used out of order, or a file it could not write.
public enum ProfilingError: Error, CustomStringConvertible, Equatable {
    case misuse(String)
    case io(path: String)

    public var description: String {
        switch self {
        case .misuse(let message): return message
        case .io(let path): return "cannot write \(path)"
        }
    }
}
