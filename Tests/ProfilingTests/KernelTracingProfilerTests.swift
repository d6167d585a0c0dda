import Foundation
import Testing
import Torch

@testable import Profiling

/// torch.profiler's schedule and the files `steppable_profiler/kernel_tracing` writes. Serialized: a trace is
/// process-wide state.
@Suite(.serialized) struct KernelTracingProfilerTests {
    @Test func theScheduleFollowsTorchProfiler() {
        let schedule = ProfilerSchedule(waitSteps: 2, warmupSteps: 1, activeSteps: 2)
        #expect((0...5).map { schedule.action(afterSteps: $0) } == [.none, .none, .prepare, .start, .none, .stop])
        // No wait and no warm-up: recording starts on entering.
        #expect(ProfilerSchedule(waitSteps: 0, warmupSteps: 0, activeSteps: 1).action(afterSteps: 0) == .start)
        #expect((0...3).allSatisfy { ProfilerSchedule(waitSteps: 1, warmupSteps: 1, activeSteps: 0).action(afterSteps: $0) == .none })
    }

    static func folder() -> String { NSTemporaryDirectory() + "kernel-tracing-\(UUID().uuidString)" }

    /// Step `n` (from 1) multiplies `n` times, so the recorded steps show in the counts.
    static func work(step: Int) throws {
        let a = try Tensor.randn([32, 32])
        for _ in 0..<step { _ = try a.matmul(a) }
    }

    @Test func onlyTheActiveStepsAreRecordedAndWritten() throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let profiler = KernelTracingProfiler(
            schedule: ProfilerSchedule(waitSteps: 1, warmupSteps: 1, activeSteps: 2), options: .init(),
            traceFile: folder + "/profiler_trace_ranks_1_rank_0.json", summaryFile: folder + "/profiler_summary_ranks_1_rank_0.txt")
        #expect(profiler.stepCount == 4)
        try profiler.enter()
        for step in 1...profiler.stepCount {
            try Self.work(step: step)
            try profiler.step()
        }
        try Self.work(step: 10)  // after the schedule: not recorded
        try profiler.exit()
        let trace = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: profiler.traceFile))) as? [String: Any])
        let events = try #require(trace["traceEvents"] as? [[String: Any]])
        // Steps 3 and 4 are active: 3 + 4 products.
        #expect(events.filter { $0["name"] as? String == "aten::mm" }.count == 7)
        let summary = try String(contentsOfFile: profiler.summaryFile, encoding: .utf8)
        #expect(summary.contains("aten::mm") && summary.contains("Self CPU time total"), "\(summary)")
        let mmLine = try #require(summary.split(separator: "\n").first { $0.hasPrefix("aten::mm ") })
        #expect(mmLine.hasSuffix(" 7"), "calls column: \(mmLine)")
    }

    @Test func exitingEarlyWritesWhatWasRecorded() throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var messages: [String] = []
        let profiler = KernelTracingProfiler(
            schedule: ProfilerSchedule(waitSteps: 0, warmupSteps: 0, activeSteps: 5), options: .init(),
            traceFile: folder + "/t.json", summaryFile: folder + "/s.txt", log: { messages.append($0) })
        try profiler.enter()
        try Self.work(step: 2)
        try profiler.step()
        try profiler.exit()
        #expect(FileManager.default.fileExists(atPath: folder + "/t.json"))
        #expect(messages.first?.contains("after 1 of its 5 steps") == true, "\(messages)")
    }

    @Test func misuseIsAnError() throws {
        let profiler = KernelTracingProfiler(
            schedule: ProfilerSchedule(waitSteps: 1, warmupSteps: 0, activeSteps: 1), options: .init(), traceFile: "/dev/null",
            summaryFile: "/dev/null")
        #expect(throws: ProfilingError.self) { try profiler.step() }
        #expect(throws: ProfilingError.self) { try profiler.exit() }
    }

    @Test func combinedProfilersRunForTheLongest() throws {
        let combined = CombinedProfiler([NoProfiler(stepCount: 3), NoProfiler(stepCount: 7)])
        #expect(combined.stepCount == 7)
        try combined.enter()
        try combined.step()
        try combined.exit()
    }
}
