import CTorch

/// Every allocation and free of tensor memory while recording is on: the CUDA caching allocator's history on a GPU
/// (`torch.cuda.memory._record_memory_history`, with C++ stacks), the shim's CPU allocator's on the CPU.
public enum MemoryHistory {
    /// One allocation or free on the CPU.
    public struct Event: Sendable, Equatable {
        public enum Action: Sendable, Equatable { case alloc, free }
        public var action: Action
        public var address: UInt64
        public var bytes: Int
        /// Microseconds since the Unix epoch.
        public var timeMicroseconds: Int64
    }

    /// Starts recording on `device`'s allocator, keeping at most `maxEntries` events (the newest).
    public static func start(on device: Device, maxEntries: Int) throws {
        guard maxEntries > 0 else { throw TorchError.invalidArgument("maxEntries must be positive, got \(maxEntries)") }
        try Runtime.start()
        if device.kind == .cuda {
            try check("start the CUDA memory history", ct_cuda_memory_history(1, Int64(maxEntries)))
        } else {
            ct_cpu_memory_history(1, Int64(maxEntries))
        }
    }

    /// Stops recording on `device`'s allocator (the events stay readable).
    public static func stop(on device: Device) throws {
        if device.kind == .cuda {
            try check("stop the CUDA memory history", ct_cuda_memory_history(0, 0))
        } else {
            ct_cpu_memory_history(0, 0)
        }
    }

    /// The CPU allocator's events since the last start, oldest first.
    public static func cpuEvents() -> [Event] {
        let count = ct_cpu_memory_history_count()
        var events: [Event] = []
        events.reserveCapacity(Int(count))
        for index in 0..<count {
            var action: Int32 = 0
            var address: UInt64 = 0
            var bytes: Int64 = 0
            var time: Int64 = 0
            guard ct_cpu_memory_history_event(index, &action, &address, &bytes, &time) == 0 else { break }
            events.append(Event(action: action == 0 ? .alloc : .free, address: address, bytes: Int(bytes), timeMicroseconds: time))
        }
        return events
    }

    /// Writes the CUDA caching allocator's snapshot (`torch.cuda.memory._dump_snapshot`'s pickle).
    public static func saveCUDASnapshot(to path: String) throws {
        try check("save the CUDA memory snapshot to \(path)", ct_cuda_memory_snapshot_save(path))
    }
}
