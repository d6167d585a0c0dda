import CTorch

/// Measures how much of a thread's time is spent inside libtorch (inside shim calls), to tell the framework's own
/// overhead from the kernels' time. Off by default; timing costs two clock reads per outermost call.
public enum CallTiming {
    public static func enable(_ enabled: Bool = true) { ct_call_timing_enable(enabled) }

    /// Seconds the calling thread spent inside libtorch since its last ``resetThread()``.
    public static var threadSeconds: Double { Double(ct_call_timing_thread_nanoseconds()) / 1e9 }

    public static func resetThread() { ct_call_timing_thread_reset() }
}

/// Where the time goes, operator by operator: libtorch's RecordFunction callbacks time every aten operator and
/// autograd node (forward and backward, on every thread) while a profile runs.
public enum OperatorProfile {
    /// One operator's totals.
    public struct Entry: Sendable {
        public var name: String
        public var calls: Int
        /// Seconds in the operator itself, without the operators it called.
        public var selfSeconds: Double
        /// Seconds from its start to its end.
        public var totalSeconds: Double
    }

    /// Starts collecting (one profile at a time per process).
    public static func start() throws {
        try Runtime.start()
        try check("start operator profile", ct_op_profile_start())
    }

    /// Stops collecting; the operators by self time, largest first.
    public static func stop() throws -> [Entry] {
        var count: Int64 = 0
        try check("stop operator profile", ct_op_profile_stop(&count))
        var entries: [Entry] = []
        var name = [CChar](repeating: 0, count: 512)
        for index in 0..<count {
            var calls: Int64 = 0, selfNanoseconds: Int64 = 0, totalNanoseconds: Int64 = 0
            try check("operator profile entry", ct_op_profile_entry(index, &name, name.count, &calls, &selfNanoseconds, &totalNanoseconds))
            entries.append(
                Entry(
                    name: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), calls: Int(calls),
                    selfSeconds: Double(selfNanoseconds) / 1e9,
                    totalSeconds: Double(totalNanoseconds) / 1e9))
        }
        return entries.sorted { $0.selfSeconds > $1.selfSeconds }
    }
}
