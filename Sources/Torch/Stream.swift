import CTorch

/// A queue of work on an accelerator (`torch.cuda.Stream`); streams live as long as the process.
public struct Stream: Sendable, Equatable, CustomStringConvertible {
    let packed: ct_stream

    init(_ packed: ct_stream) { self.packed = packed }

    /// The device the stream belongs to.
    public var device: Device {
        Device(Device.Kind(rawValue: packed.device_type) ?? .cuda, index: Int(packed.device_index))
    }

    /// The calling thread's current stream on `device` (the default stream unless another was made current).
    public static func current(on device: Device) throws -> Stream {
        let (type, index) = try Accelerator.codes(device)
        var stream = ct_stream()
        try check("current stream of \(device)", ct_stream_current(type, index, &stream))
        return Stream(stream)
    }

    /// A stream from the device's pool, not the default one.
    public static func fromPool(on device: Device, highPriority: Bool = false) throws -> Stream {
        let (type, index) = try Accelerator.codes(device)
        var stream = ct_stream()
        try check("stream of \(device)", ct_stream_from_pool(type, index, highPriority, &stream))
        return Stream(stream)
    }

    /// Runs `body` with this stream current on its device, then restores the previous one
    /// (`with torch.cuda.stream(s):`).
    public func withCurrent<R>(_ body: () throws -> R) throws -> R {
        var previous = ct_stream()
        try check("make \(self) current", ct_stream_set_current(packed, &previous))
        defer {
            var ignored = ct_stream()
            _ = ct_stream_set_current(previous, &ignored)
        }
        return try body()
    }

    /// Waits until all work queued on the stream has finished.
    public func synchronize() throws {
        try check("synchronize \(self)", ct_stream_synchronize(packed))
    }

    /// Whether all work queued on the stream has finished.
    public func isFinished() throws -> Bool {
        var finished = false
        try check("query \(self)", ct_stream_query(packed, &finished))
        return finished
    }

    /// Makes work queued on this stream from now on wait until `event` has happened.
    public func wait(for event: Event) throws {
        try check("\(self) waiting for an event", ct_stream_wait_event(packed, event.handle))
    }

    /// Makes work queued on this stream from now on wait for everything already queued on `other`.
    public func wait(for other: Stream) throws {
        let event = try Event(device: other.device)
        try event.record(on: other)
        try wait(for: event)
    }

    public var description: String { "stream \(packed.id) of \(device)" }

    public static func == (lhs: Stream, rhs: Stream) -> Bool {
        lhs.packed.id == rhs.packed.id && lhs.packed.device_index == rhs.packed.device_index
            && lhs.packed.device_type == rhs.packed.device_type
    }
}
