import Foundation
import Testing

@testable import Torch

/// libtorch's profiler through the shim: what a trace records and the Chrome-trace file it saves.
/// Serialized: a trace is process-wide state.
@Suite(.serialized) struct KinetoTraceTests {
    @Test func aTraceRecordsTheOperatorsBetweenStartAndStop() throws {
        let a = try Tensor.randn([64, 64])
        _ = try a.matmul(a)  // before the trace: not recorded
        try KinetoTrace.start(.init(withFLOPs: true))
        for _ in 0..<3 { _ = try a.matmul(a) }
        let events = try KinetoTrace.stop()
        let matmuls = events.filter { $0.name == "aten::mm" }
        #expect(matmuls.count == 3, "\(events.map(\.name))")
        #expect(matmuls.allSatisfy { !$0.onCUDA && $0.durationNanoseconds > 0 })
        // 2·64³ multiply-adds per product, as libtorch counts them.
        #expect(matmuls.map(\.flops) == [Int64](repeating: 2 * 64 * 64 * 64, count: 3))
    }

    @Test func theSavedTraceIsChromeTraceJSON() throws {
        let a = try Tensor.randn([16, 16])
        try KinetoTrace.prepare(.init())
        try KinetoTrace.start(.init())
        _ = try a.matmul(a).relu()
        try KinetoTrace.stop()
        let path = NSTemporaryDirectory() + "trace-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try KinetoTrace.save(to: path)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let events = try #require(json["traceEvents"] as? [[String: Any]])
        let names = Set(events.compactMap { $0["name"] as? String })
        #expect(names.contains("aten::mm") && names.contains("aten::relu"), "\(names.sorted().prefix(30))")
        // Complete events ("X") carry a start and a duration in microseconds, as chrome://tracing expects.
        #expect(events.contains { $0["ph"] as? String == "X" && $0["dur"] != nil && $0["ts"] != nil })
    }

    @Test func stoppingWithoutATraceIsAnError() {
        #expect(throws: TorchError.self) { try KinetoTrace.stop() }
    }
}
