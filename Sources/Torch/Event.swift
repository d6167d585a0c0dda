import CTorch

/// A marker in a stream's work (`torch.cuda.Event`): wait for it, or time the work between two of them.
public final class Event: @unchecked Sendable {  // libtorch's events are used from one thread at a time here
    let handle: ct_event

    /// A new event for accelerators of `device`'s kind; `timing` lets ``elapsedMilliseconds(since:)`` measure it.
    public init(device: Device, timing: Bool = false) throws {
        let (type, _) = try Accelerator.codes(device)
        var handle: ct_event?
        try check("create an event on \(device)", ct_event_new(type, timing, &handle))
        self.handle = handle!
    }

    deinit { ct_event_free(handle) }

    /// Records the event at the current end of `stream`'s queue.
    public func record(on stream: Stream) throws {
        try check("record an event on \(stream)", ct_event_record(handle, stream.packed))
    }

    /// Waits until the work recorded before the event has finished.
    public func synchronize() throws {
        try check("synchronize an event", ct_event_synchronize(handle))
    }

    /// Whether the work recorded before the event has finished.
    public func isFinished() throws -> Bool {
        var finished = false
        try check("query an event", ct_event_query(handle, &finished))
        return finished
    }

    /// Milliseconds of device time from `start` to this event; both must be timing events, recorded and finished.
    public func elapsedMilliseconds(since start: Event) throws -> Double {
        var milliseconds = 0.0
        try check("elapsed time between events", ct_event_elapsed_ms(start.handle, handle, &milliseconds))
        return milliseconds
    }
}
