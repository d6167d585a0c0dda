import CTorch

/// Automatic mixed precision (`torch.autocast`).
public enum Autocast {
    /// Runs `body` with autocast on for `device`'s type: matmuls, linear layers and attention compute in
    /// `dtype` while precision-sensitive operations stay in float32.
    ///
    /// Autocast state is thread-local; the body runs synchronously on the calling thread and the previous state
    /// is restored on exit. Nested scopes are allowed.
    public static func scope<R>(device: Device = .cpu, dtype: DType = .bfloat16, _ body: () throws -> R) rethrows -> R {
        var previousEnabled = false
        var previousDType: Int32 = 0
        let deviceType = Int32(device.kind.rawValue)
        ct_autocast_enter(deviceType, Int32(dtype.rawValue), &previousEnabled, &previousDType)
        defer { ct_autocast_exit(deviceType, previousEnabled, previousDType) }
        return try body()
    }

    /// Runs `body` with autocast's cache of casted weights off (restored after): inside a CUDA-graph capture,
    /// casts must be recomputed by every replay, not looked up once at capture.
    public static func withoutCache<R>(_ body: () throws -> R) rethrows -> R {
        let previous = ct_autocast_set_cache_enabled(false)
        defer { _ = ct_autocast_set_cache_enabled(previous) }
        return try body()
    }

    /// Whether autocast is on for `device`'s type on the calling thread.
    public static func isEnabled(device: Device = .cpu) -> Bool {
        ct_autocast_is_enabled(Int32(device.kind.rawValue))
    }

    /// The dtype autocast computes in on `device`'s type when it is on for the calling thread, else nil.
    public static func dtype(device: Device = .cpu) -> DType? {
        guard isEnabled(device: device) else { return nil }
        return DType(rawValue: Int32(ct_autocast_dtype(Int32(device.kind.rawValue))))
    }
}
