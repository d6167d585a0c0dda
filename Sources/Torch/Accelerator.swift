import CTorch
import Dispatch

/// The caching allocator's counters for one accelerator (`torch.cuda.memory_stats`).
public struct DeviceMemoryStatistics: Sendable, Equatable {
    /// Bytes held by live tensors now.
    public var allocatedBytes: Int
    /// The most bytes held by live tensors at once since the last ``Accelerator/resetPeakMemory(of:)``.
    public var peakAllocatedBytes: Int
    /// Bytes the allocator holds from the device (live tensors plus its cache).
    public var reservedBytes: Int
    public var peakReservedBytes: Int
    /// Allocations requested since start-up.
    public var allocations: Int
    /// Allocations that failed even after the cache was emptied.
    public var outOfMemoryErrors: Int
}

/// Synchronisation and memory of accelerators (GPUs), through libtorch's device-generic interfaces.
///
/// Every call needs the device's backend: for CUDA, ``CUDA/load(libraryPath:)`` must have succeeded, or
/// libtorch's own error says the backend is missing.
public enum Accelerator {
    /// Waits until all work queued on `device` has finished (`torch.cuda.synchronize`).
    public static func synchronize(_ device: Device) throws {
        let (type, index) = try codes(device)
        try check("synchronize \(device)", ct_device_synchronize(type, index))
    }

    /// Makes `device` the calling thread's current device of its kind (`torch.cuda.set_device`).
    public static func setCurrent(_ device: Device) throws {
        let (type, index) = try codes(device)
        try check("set current device \(device)", ct_device_set_current(type, index))
    }

    /// The caching allocator's counters for `device`.
    public static func memoryStatistics(of device: Device) throws -> DeviceMemoryStatistics {
        let (type, index) = try codes(device)
        var counters = ct_device_memory_counters()
        try check("memory statistics of \(device)", ct_device_memory_stats(type, index, &counters))
        return DeviceMemoryStatistics(
            allocatedBytes: Int(counters.allocated_bytes), peakAllocatedBytes: Int(counters.peak_allocated_bytes),
            reservedBytes: Int(counters.reserved_bytes), peakReservedBytes: Int(counters.peak_reserved_bytes),
            allocations: Int(counters.allocations), outOfMemoryErrors: Int(counters.out_of_memory_errors))
    }

    /// Starts new peak measurements from the current byte counts (`torch.cuda.reset_peak_memory_stats`).
    public static func resetPeakMemory(of device: Device) throws {
        let (type, index) = try codes(device)
        try check("reset peak memory of \(device)", ct_device_memory_reset_peak(type, index))
    }

    /// Returns cached blocks no tensor uses to the device (`torch.cuda.empty_cache`).
    public static func emptyCache(of kind: Device.Kind) throws {
        try check("empty the \(Device(kind)) cache", ct_device_memory_empty_cache(try codes(Device(kind)).type))
    }

    /// Free and total bytes of `device` as its driver reports them (`torch.cuda.mem_get_info`).
    public static func memoryInfo(of device: Device) throws -> (free: Int, total: Int) {
        let (type, index) = try codes(device)
        var free: Int64 = 0
        var total: Int64 = 0
        try check("memory info of \(device)", ct_device_memory_info(type, index, &free, &total))
        return (Int(free), Int(total))
    }

    /// The monotonic clock in nanoseconds once the work queued on `device` has finished (the CPU's work is done when
    /// its call returns): what timing a phase of GPU work needs.
    public static func uptimeNanoseconds(after device: Device) throws -> UInt64 {
        if device.kind != .cpu { try synchronize(device) }
        return DispatchTime.now().uptimeNanoseconds
    }

    /// The device type code and index (the current device's when none is given) of an accelerator.
    static func codes(_ device: Device) throws -> (type: Int32, index: Int32) {
        try Runtime.start()
        guard device.kind != .cpu && device.kind != .meta else {
            throw TorchError.invalidArgument("\(device) is not an accelerator; streams, events and device memory need a GPU")
        }
        if let index = device.index { return (device.kind.rawValue, Int32(index)) }
        var current: Int32 = 0
        try check("current \(device) device", ct_device_current_index(device.kind.rawValue, &current))
        return (device.kind.rawValue, current)
    }
}
