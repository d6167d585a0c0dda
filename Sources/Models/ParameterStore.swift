import Torch

/// The parameters of a model by their state-dict names, in creation order.
///
/// With deferred allocation (`use_meta_device`), ``make(_:shape:fill:)`` gives tensors that have their shape but
/// hold no memory: an initializer, a checkpoint load or FSDP (which only ever allocates its chunks) gives them
/// values, parameter by parameter, so the whole model never has to exist at once on one rank.
public final class ParameterStore {
    public private(set) var names: [String] = []
    public private(set) var tensors: [String: Tensor] = [:]
    let dtype: DType
    /// Where ``make(_:shape:fill:)`` creates parameters.
    public let device: Device
    /// Whether ``make(_:shape:fill:)`` defers allocation.
    public let defersAllocation: Bool
    /// Parameters that hold no memory yet (by their first name), with the value they start from once allocated.
    public private(set) var deferredFills: [String: Double] = [:]

    /// An empty store whose ``make(_:shape:fill:)`` creates parameters of `dtype` on `device`, holding no memory
    /// until needed when `deferAllocation` (CPU only).
    public init(dtype: DType, device: Device = .cpu, deferAllocation: Bool = false) {
        self.dtype = dtype
        self.device = device
        self.defersAllocation = deferAllocation
    }

    /// Registers an existing tensor (e.g. a shard a wrapper owns) under `name`.
    public func register(_ name: String, _ tensor: Tensor) {
        add(name, tensor)
    }

    /// A new parameter (zeros, or `fill`) that requires grad; without memory yet when allocation is deferred.
    func make(_ name: String, shape: [Int], fill: Double = 0) throws -> Tensor {
        let tensor: Tensor
        if defersAllocation {
            guard device == .cpu else {
                throw ModelError.invalidConfig("deferred allocation (use_meta_device) builds on the CPU, not \(device)")
            }
            tensor = try Tensor.unallocated(shape, dtype: dtype).requiresGrad(true)
            deferredFills[name] = fill
        } else {
            tensor = try Tensor.full(shape, fill, dtype: dtype, device: device).requiresGrad(true)
        }
        add(name, tensor)
        return tensor
    }

    /// Registers an existing tensor under another name (weight tying).
    func alias(_ name: String, to tensor: Tensor) {
        add(name, tensor)
    }

    private func add(_ name: String, _ tensor: Tensor) {
        if tensors[name] == nil { names.append(name) }
        tensors[name] = tensor
    }

    /// Parameters in creation order; a tied tensor appears once, under its first name.
    public var named: [(name: String, tensor: Tensor)] {
        var seen: [Tensor] = []
        return names.compactMap { name in
            let tensor = tensors[name]!
            if seen.contains(where: { $0.isSame(as: tensor) }) { return nil }
            seen.append(tensor)
            return (name, tensor)
        }
    }

    /// Whether some parameter still holds no memory (deferred allocation not yet resolved).
    public var hasDeferredParameters: Bool { !deferredFills.isEmpty }

    /// The first name of the tensor `name` refers to (tied parameters share one).
    private func canonicalName(_ name: String) -> String {
        guard let tensor = tensors[name] else { return name }
        return names.first { tensors[$0]!.isSame(as: tensor) } ?? name
    }

    /// Allocates parameter `name` (any of its names) if it is deferred, filled with its starting value.
    public func allocate(_ name: String) throws {
        guard !deferredFills.isEmpty else { return }
        let canonical = canonicalName(name)
        guard let fill = deferredFills[canonical], let tensor = tensors[canonical] else { return }
        try tensor.allocateStorage()
        _ = try Autograd.noGrad { try tensor.fill_(fill) }
        deferredFills[canonical] = nil
    }

    /// Allocates every deferred parameter with its starting value.
    public func allocateAll() throws {
        for name in names where deferredFills[name] != nil { try allocate(name) }
    }

    /// Hands a deferred parameter's memory over to its owner (FSDP keeps only chunks): the parameter stays without
    /// memory and counts as resolved. Returns its starting value, or nil when it was not deferred.
    public func takeDeferral(of name: String) -> Double? {
        guard !deferredFills.isEmpty else { return nil }
        let canonical = canonicalName(name)
        defer { deferredFills[canonical] = nil }
        return deferredFills[canonical]
    }

    /// Throws when some parameter holds no memory yet, naming what reading it needed.
    public func requireAllocated(for purpose: String) throws {
        guard let name = names.first(where: { deferredFills[$0] != nil }) else { return }
        throw ModelError.invalidConfig(
            "\(purpose) needs the parameters' values, but \(name) (and \(deferredFills.count - 1) more) hold no memory yet: with use_meta_device, initialise the model (model/model_initialized), load a checkpoint or shard it (fsdp2_wrapped) first"
        )
    }

    /// Copies `values` into the parameter `name`, checking the shape (allocating it first when deferred).
    public func load(_ name: String, from values: Tensor) throws {
        guard let tensor = tensors[name] else { throw ModelError.missingParameter(name) }
        guard tensor.shape == values.shape else { throw ModelError.shapeMismatch(name: name, expected: tensor.shape, found: values.shape) }
        try allocate(name)
        _ = try Autograd.noGrad { try tensor.copy_(values) }
    }
}
