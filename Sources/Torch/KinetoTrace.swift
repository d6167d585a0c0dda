import CTorch

/// libtorch's own profiler (Kineto, as `torch.profiler` drives it): operators on the CPU and, on a GPU, CUDA kernels
/// and copies, recorded between ``start(_:)`` and ``stop()`` and saved as Chrome-trace JSON (chrome://tracing,
/// Perfetto and TensorBoard's profile plugin open it). One trace at a time per process.
public enum KinetoTrace {
    /// What a trace records (`torch.profiler.profile`'s arguments).
    public struct Options: Sendable, Equatable {
        public var cpu = true
        public var cuda = false
        public var recordShapes = false
        public var profileMemory = false
        public var withStack = false
        public var withFLOPs = false
        public var withModules = false

        public init(
            cpu: Bool = true, cuda: Bool = false, recordShapes: Bool = false, profileMemory: Bool = false,
            withStack: Bool = false, withFLOPs: Bool = false, withModules: Bool = false
        ) {
            self.cpu = cpu
            self.cuda = cuda
            self.recordShapes = recordShapes
            self.profileMemory = profileMemory
            self.withStack = withStack
            self.withFLOPs = withFLOPs
            self.withModules = withModules
        }

        var flags: Int32 {
            var flags: Int32 = 0
            if cpu { flags |= CT_TRACE_CPU }
            if cuda { flags |= CT_TRACE_CUDA }
            if recordShapes { flags |= CT_TRACE_RECORD_SHAPES }
            if profileMemory { flags |= CT_TRACE_PROFILE_MEMORY }
            if withStack { flags |= CT_TRACE_WITH_STACK }
            if withFLOPs { flags |= CT_TRACE_WITH_FLOPS }
            if withModules { flags |= CT_TRACE_WITH_MODULES }
            return flags
        }
    }

    /// One recorded event.
    public struct Event: Sendable {
        public var name: String
        /// Where it ran: the CPU, or a CUDA device for kernels and copies.
        public var onCUDA: Bool
        public var startNanoseconds: Int64
        public var durationNanoseconds: Int64
        /// Floating-point operations of the operator (with `withFLOPs`, for the operators libtorch counts).
        public var flops: Int64
    }

    /// Sets the tracer up so that a later ``start(_:)`` records from its first operator (the warm-up steps of a
    /// profiler schedule).
    public static func prepare(_ options: Options) throws {
        try Runtime.start()
        try check("prepare the trace", ct_trace_prepare(options.flags))
    }

    /// Starts recording.
    public static func start(_ options: Options) throws {
        try Runtime.start()
        try check("start the trace", ct_trace_start(options.flags))
    }

    /// Stops recording and returns the trace's events.
    @discardableResult
    public static func stop() throws -> [Event] {
        var count: Int64 = 0
        try check("stop the trace", ct_trace_stop(&count))
        var events: [Event] = []
        events.reserveCapacity(Int(count))
        var name = [CChar](repeating: 0, count: 512)
        for index in 0..<count {
            var device: Int32 = 0
            var start: Int64 = 0, duration: Int64 = 0, flops: Int64 = 0
            try check("trace event", ct_trace_event(index, &name, name.count, &device, &start, &duration, &flops))
            events.append(
                Event(
                    name: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), onCUDA: device == 1,
                    startNanoseconds: start, durationNanoseconds: duration, flops: flops))
        }
        return events
    }

    /// Writes the last stopped trace as Chrome-trace JSON.
    public static func save(to path: String) throws {
        try check("save the trace to \(path)", ct_trace_save(path))
    }
}
