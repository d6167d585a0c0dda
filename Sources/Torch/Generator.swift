import CTorch

/// A seeded random-number generator (CPU, or a device's default one) whose state can be saved and restored (`torch.Generator`).
public final class Generator: @unchecked Sendable {  // libtorch locks the generator's mutex on every use
    let handle: ct_generator
    private let owned: Bool

    /// A new generator seeded with `seed`.
    public init(seed: UInt64) throws {
        try Runtime.start()
        var handle: ct_generator?
        try check("create generator", ct_generator_new(seed, &handle))
        self.handle = handle!
        self.owned = true
    }

    private init(borrowing handle: ct_generator) {
        self.handle = handle
        self.owned = false
    }

    deinit {
        if owned { ct_generator_free(handle) }
    }

    private init(owning handle: ct_generator) {
        self.handle = handle
        self.owned = true
    }

    /// The process-wide default CPU generator that operations use when given none.
    public static let defaultCPU = Generator(borrowing: ct_generator_default_cpu())

    /// The default generator of `device` (the one random operations on it use when given none); for a GPU, CUDA must
    /// be loaded first.
    public static func defaultGenerator(for device: Device) throws -> Generator {
        if device.kind == .cpu { return defaultCPU }
        try Runtime.start()
        var handle: ct_generator?
        try check(
            "default generator of \(device)", ct_generator_default_for_device(device.kind.rawValue, Int32(device.index ?? 0), &handle))
        return Generator(owning: handle!)
    }

    /// The seed set last.
    public var seed: UInt64 { ct_generator_seed(handle) }

    /// Reseeds the generator, resetting its state.
    public func setSeed(_ seed: UInt64) throws {
        try check("seed generator", ct_generator_set_seed(handle, seed))
    }

    /// The complete state (a `uint8` tensor), for checkpoints.
    public func state() throws -> Tensor {
        var state: ct_tensor?
        try check("get generator state", ct_generator_get_state(handle, &state))
        return Tensor(owning: state!)
    }

    /// Restores a state returned by ``state()``; the next numbers repeat those drawn after it was taken.
    public func setState(_ state: Tensor) throws {
        try check("set generator state", ct_generator_set_state(handle, state.handle))
    }
}
