import Torch

/// The parameters of a model by their state-dict names, in creation order.
public final class ParameterStore {
    public private(set) var names: [String] = []
    public private(set) var tensors: [String: Tensor] = [:]
    let dtype: DType
    /// Where ``make(_:shape:fill:)`` creates parameters.
    public let device: Device

    /// An empty store whose ``make(_:shape:fill:)`` creates parameters of `dtype` on `device`.
    public init(dtype: DType, device: Device = .cpu) {
        self.dtype = dtype
        self.device = device
    }

    /// Registers an existing tensor (e.g. a shard a wrapper owns) under `name`.
    public func register(_ name: String, _ tensor: Tensor) {
        add(name, tensor)
    }

    /// A new parameter (zeros, or `fill`) that requires grad.
    func make(_ name: String, shape: [Int], fill: Double = 0) throws -> Tensor {
        let tensor = try Tensor.full(shape, fill, dtype: dtype, device: device).requiresGrad(true)
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

    /// Copies `values` into the parameter `name`, checking the shape.
    public func load(_ name: String, from values: Tensor) throws {
        guard let tensor = tensors[name] else { throw ModelError.missingParameter(name) }
        guard tensor.shape == values.shape else { throw ModelError.shapeMismatch(name: name, expected: tensor.shape, found: values.shape) }
        _ = try Autograd.noGrad { try tensor.copy_(values) }
    }
}
