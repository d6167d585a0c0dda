import DataFormats
import Foundation
import Testing
import Torch

@testable import Profiling

/// `steppable_profiler/memory_tracing` on the CPU: the allocator's events of the active steps, in the layout of
/// `torch.cuda.memory._snapshot()`. Serialized: the history is process-wide state.
@Suite(.serialized) struct MemoryTracingProfilerTests {
    /// The snapshot's device trace as (action, size) pairs.
    static func trace(_ path: String) throws -> [(String, Int)] {
        let snapshot = try Pickle.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))), allowedGlobals: [])
        guard case .dict(let entries) = snapshot,
            case .list(let devices)? = entries.first(where: { $0.key == .string("device_traces") })?.value,
            case .list(let events)? = devices.first
        else { Issue.record("not a memory snapshot: \(snapshot)"); return [] }
        return events.compactMap { event in
            guard case .dict(let fields) = event,
                case .string(let action)? = fields.first(where: { $0.key == .string("action") })?.value,
                case .int(let size)? = fields.first(where: { $0.key == .string("size") })?.value
            else { return nil }
            return (action, size)
        }
    }

    @Test func theActiveStepsAllocationsAreInTheSnapshot() throws {
        let folder = NSTemporaryDirectory() + "memory-tracing-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let profiler = MemoryTracingProfiler(
            schedule: ProfilerSchedule(waitSteps: 1, warmupSteps: 0, activeSteps: 2), device: .cpu,
            snapshotFile: folder + "/memory_snapshot_ranks_1_rank_0.pkl")
        try profiler.enter()
        // Step 1 (waiting) allocates 3 × 5 floats; steps 2 and 3 (recorded) allocate 7 × 9 and 11 × 13 floats.
        for shape in [[3, 5], [7, 9], [11, 13]] {
            _ = try Tensor.zeros(shape)
            try profiler.step()
        }
        try profiler.exit()
        let events = try Self.trace(profiler.snapshotFile)
        let allocations = events.filter { $0.0 == "alloc" }.map(\.1)
        #expect(allocations.contains(7 * 9 * 4) && allocations.contains(11 * 13 * 4), "\(allocations)")
        #expect(!allocations.contains(3 * 5 * 4), "the waiting step is not recorded: \(allocations)")
        // Each temporary is freed again: a request and its completion.
        #expect(events.filter { $0.0 == "free_completed" }.map(\.1).contains(7 * 9 * 4))
        #expect(events.filter { $0.0 == "free_requested" }.count == events.filter { $0.0 == "free_completed" }.count)
        // The per-step peaks of the recorded steps: step 3's larger temporary shows above step 2's.
        #expect(profiler.stepPeaks.map(\.step) == [2, 3])
        let peaks = profiler.stepPeaks.map(\.bytes)
        #expect(peaks[1] - peaks[0] >= (11 * 13 - 7 * 9) * 4 - 64, "\(peaks)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: profiler.stepsFile))) as? [String: Any]
        #expect(summary?["peak_bytes"] as? Int == peaks.max())
        #expect((summary?["steps"] as? [[String: Int]])?.map { $0["step"] } == [2, 3])
    }

    @Test func plainValuesRoundTripThroughThePickleWriter() throws {
        let value = Pickle.Value.dict([
            .init(key: .string("a"), value: .list([.int(1), .int(-70000), .int(1 << 40), .float(0.5), .bool(true), .none])),
            .init(key: .string("b"), value: .tuple([.string(String(repeating: "é", count: 300)), .bytes([1, 2, 3])])),
        ])
        #expect(try Pickle.decode(try Pickle.encode(value), allowedGlobals: []) == value)
    }
}
