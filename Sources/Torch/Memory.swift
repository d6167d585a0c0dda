import CTorch

/// Byte counts of the CPU allocator the shim installs in place of libtorch's at start-up.
public struct AllocatorStatistics: Sendable, Equatable {
    /// Bytes currently held by live CPU tensors.
    public var currentBytes: Int
    /// The most bytes held at once since start-up or the last ``Memory/resetPeak()``.
    public var peakBytes: Int
    /// Allocations made since start-up.
    public var allocations: Int
    /// Bytes of freed large blocks (256 KB and more) kept for reuse, not counted in ``currentBytes``.
    public var cachedBytes: Int
    /// The most the cache keeps (`MODALITIES_CPU_CACHE_BYTES`; by default a quarter of physical memory shared among
    /// the node's ranks, at most 8 GiB); 0 when caching is off.
    public var cacheLimitBytes: Int
}

/// Memory accounting.
public enum Memory {
    /// The CPU allocator's counters now.
    public static func cpuStatistics() throws -> AllocatorStatistics {
        try Runtime.start()
        var current: Int64 = 0
        var peak: Int64 = 0
        var allocations: Int64 = 0
        ct_cpu_allocator_stats(&current, &peak, &allocations)
        var cached: Int64 = 0
        var limit: Int64 = 0
        ct_cpu_allocator_cache(&cached, &limit)
        return AllocatorStatistics(
            currentBytes: Int(current), peakBytes: Int(peak), allocations: Int(allocations),
            cachedBytes: Int(cached), cacheLimitBytes: Int(limit))
    }

    /// Frees the CPU allocator's cached blocks.
    ///
    /// Large blocks are kept when their tensors are freed and handed out again for requests of about the same size,
    /// so that a training step reuses memory instead of faulting it in afresh from the kernel each time (the
    /// CPU counterpart of a GPU caching allocator).
    public static func emptyCPUCache() throws {
        try Runtime.start()
        ct_cpu_allocator_empty_cache()
    }

    /// Sets the most bytes the CPU allocator's cache keeps (0 turns caching off), freeing the oldest blocks above it.
    public static func setCPUCacheLimit(bytes: Int) throws {
        guard bytes >= 0 else { throw TorchError.invalidArgument("a cache limit must not be negative, got \(bytes)") }
        try Runtime.start()
        ct_cpu_allocator_set_cache_limit(Int64(bytes))
    }

    /// Starts a new peak measurement from the current byte count.
    public static func resetPeak() { ct_cpu_allocator_reset_peak() }

    /// The most bytes held at once on `device` since its last reset: the CPU allocator's count, or a GPU caching
    /// allocator's allocated (not reserved) bytes.
    public static func peakBytes(on device: Device) throws -> Int {
        device.kind == .cpu ? try cpuStatistics().peakBytes : try Accelerator.memoryStatistics(of: device).peakAllocatedBytes
    }

    /// Starts a new peak measurement on `device`.
    public static func resetPeak(on device: Device) throws {
        if device.kind == .cpu { resetPeak() } else { try Accelerator.resetPeakMemory(of: device) }
    }
}

extension Tensor {
    /// Size of the underlying storage in bytes (may be shared with other views).
    public func storageByteCount() throws -> Int {
        var bytes = 0
        try check("storage nbytes", ct_tensor_storage_nbytes(handle, &bytes))
        return bytes
    }

    /// A CPU tensor of `shape` whose storage holds no memory yet (deferred allocation, as PyTorch's meta device is
    /// used for): its shape and dtype are known, its values are not. Call ``allocateStorage()`` before reading or
    /// writing it.
    public static func unallocated(_ shape: [Int], dtype: DType = .float32) throws -> Tensor {
        try Runtime.start()
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TorchError.invalidArgument("negative size in shape \(shape)") }
        var handle: ct_tensor?
        try check("unallocated tensor", ct_tensor_unallocated(Int32(dtype.rawValue), shape.map(Int64.init), Int64(shape.count), &handle))
        return Tensor(owning: handle!)
    }

    /// Whether the storage holds all of the tensor's elements (false after ``unallocated(_:dtype:)`` or a resize to 0).
    public var isAllocated: Bool {
        get throws { try storageByteCount() >= count * dtype.byteCount }
    }

    /// Gives an unallocated (or freed) contiguous tensor the memory for all its elements; their values are undefined.
    public func allocateStorage() throws {
        try resizeStorage(toBytes: count * dtype.byteCount)
    }

    /// Resizes the underlying storage to `bytes`, keeping its leading bytes (`untyped_storage().resize_()`).
    ///
    /// Resizing to 0 frees the memory while the tensor keeps its shape, as FSDP does with unsharded parameters;
    /// resize back to the full size before the tensor is read again.
    public func resizeStorage(toBytes bytes: Int) throws {
        guard bytes >= 0 else { throw TorchError.invalidArgument("storage size must not be negative, got \(bytes)") }
        try check("resize storage", ct_tensor_storage_resize(handle, bytes))
    }
}

extension Tensor {
    /// Copies `source` into this tensor without counting it as an in-place change (PyTorch's
    /// `tensor.data.copy_(source)`): tensors autograd saved from this one remain usable in backward.
    ///
    /// Only for refilling a tensor with the values it had when it was saved, as FSDP does after freeing it.
    public func copyUntracked(from source: Tensor) throws {
        try check("copy untracked", ct_tensor_copy_untracked(handle, source.handle))
    }
}

/// Entry points for the benchmarks that compare Swift calls with calls made inside the shim.
public enum BenchmarkHooks {
    /// Seconds taken by `iterations` calls of `at::add(a, b)` in a C++ loop inside the shim.
    public static func addLoopSeconds(_ a: Tensor, _ b: Tensor, iterations: Int) throws -> Double {
        var seconds = 0.0
        try check("benchmark add loop", ct_benchmark_add_loop(a.handle, b.handle, Int64(iterations), &seconds))
        return seconds
    }
}
