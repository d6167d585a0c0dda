import CTorch

/// Gradient-mode scopes and reverse-mode differentiation.
///
/// Grad mode and autocast are thread-local in libtorch, so scopes are synchronous closures: everything inside
/// runs on the calling thread and the previous mode is restored on exit, also when the body throws.
public enum Autograd {
    /// Whether operations on the calling thread record history for backward.
    public static var isGradEnabled: Bool { ct_grad_mode_is_enabled() }

    /// Runs `body` with gradient recording off (`torch.no_grad()`).
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        try withGradMode(false, body)
    }

    /// Runs `body` with gradient recording on (`torch.enable_grad()`).
    public static func enableGrad<R>(_ body: () throws -> R) rethrows -> R {
        try withGradMode(true, body)
    }

    private static func withGradMode<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
        let previous = ct_grad_mode_is_enabled()
        ct_grad_mode_set_enabled(enabled)
        defer { ct_grad_mode_set_enabled(previous) }
        return try body()
    }

    /// Computes gradients of `outputs` with respect to the graph's leaves and accumulates them into `.grad`.
    ///
    /// - Parameters:
    ///   - gradOutputs: the seed gradient of each output; nil for scalars means 1.
    ///   - retainGraph: keep the graph so backward can run again.
    ///   - createGraph: record the backward itself, for higher-order gradients.
    /// - Throws: libtorch's message, or the error of a Swift hook or custom backward that failed.
    public static func backward(
        _ outputs: [Tensor], gradOutputs: [Tensor?]? = nil, retainGraph: Bool = false,
        createGraph: Bool = false
    ) throws {
        if let gradOutputs, gradOutputs.count != outputs.count {
            throw TorchError.invalidArgument("backward got \(outputs.count) outputs and \(gradOutputs.count) gradients")
        }
        let handles: [ct_tensor?] = outputs.map { $0.handle }
        let seeds: [ct_tensor?]? = gradOutputs?.map { $0?.handle }
        try withExtendedLifetime((outputs, gradOutputs)) {
            try check("backward", ct_backward(handles, seeds, Int64(outputs.count), retainGraph, createGraph))
        }
    }

    /// Gradients of `outputs` with respect to `inputs`, returned rather than accumulated (`torch.autograd.grad`).
    ///
    /// - Returns: one gradient per input; nil where an input is unused and `allowUnused` is true.
    public static func grad(
        outputs: [Tensor], inputs: [Tensor], gradOutputs: [Tensor?]? = nil,
        retainGraph: Bool = false, createGraph: Bool = false,
        allowUnused: Bool = false
    ) throws -> [Tensor?] {
        let outputHandles: [ct_tensor?] = outputs.map { $0.handle }
        let inputHandles: [ct_tensor?] = inputs.map { $0.handle }
        let seeds: [ct_tensor?]? = gradOutputs?.map { $0?.handle }
        var grads = [ct_tensor?](repeating: nil, count: inputs.count)
        try withExtendedLifetime((outputs, inputs, gradOutputs)) {
            try check(
                "autograd.grad",
                ct_grad(
                    outputHandles, seeds, Int64(outputs.count), inputHandles,
                    Int64(inputs.count), retainGraph, createGraph, allowUnused, &grads))
        }
        return grads.map { $0.map(Tensor.init(owning:)) }
    }
}

extension Tensor {
    /// Whether operations on this tensor are recorded for backward.
    public var requiresGrad: Bool { ct_tensor_requires_grad(handle) }

    /// Marks a leaf tensor as a parameter whose gradient is wanted; returns `self`.
    @discardableResult
    public func requiresGrad(_ requiresGrad: Bool) throws -> Tensor {
        try check("requires_grad_", ct_tensor_set_requires_grad(handle, requiresGrad))
        return self
    }

    /// Whether the tensor was created by the user rather than by a recorded operation.
    public var isLeaf: Bool { ct_tensor_is_leaf(handle) }

    /// The accumulated gradient, or nil before the first backward (or after clearing it).
    public var grad: Tensor? {
        get {
            var grad: ct_tensor?
            guard ct_tensor_grad(handle, &grad) == 0 else { return nil }
            return grad.map(Tensor.init(owning:))
        }
    }

    /// Replaces (or with nil, clears) the accumulated gradient.
    public func setGrad(_ grad: Tensor?) throws {
        try check("set grad", ct_tensor_set_grad(handle, grad?.handle))
    }

    /// The name of the node that produced this tensor ("AddBackward0"), nil for leaves.
    public var gradFunctionName: String? {
        var name: UnsafeMutablePointer<CChar>?
        guard ct_tensor_grad_fn_name(handle, &name) == 0, let name else { return nil }
        defer { ct_string_free(name) }
        return String(cString: name)
    }

    /// Backpropagates from this tensor (a scalar unless `gradient` is given).
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false, createGraph: Bool = false) throws {
        try Autograd.backward([self], gradOutputs: gradient.map { [$0] }, retainGraph: retainGraph, createGraph: createGraph)
    }
}
