import CTorch

/// Measures how much of a thread's time is spent inside libtorch (inside shim calls), to tell the framework's own
/// overhead from the kernels' time. Off by default; timing costs two clock reads per outermost call.
public enum CallTiming {
    public static func enable(_ enabled: Bool = true) { ct_call_timing_enable(enabled) }

    /// Seconds the calling thread spent inside libtorch since its last ``resetThread()``.
    public static var threadSeconds: Double { Double(ct_call_timing_thread_nanoseconds()) / 1e9 }

    public static func resetThread() { ct_call_timing_thread_reset() }
}
