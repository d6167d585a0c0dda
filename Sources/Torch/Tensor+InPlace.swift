/// In-place updates (PyTorch's trailing-underscore methods); each returns `self` for chaining.
extension Tensor {
    @discardableResult public func add_(_ other: Tensor, alpha: Double = 1) throws -> Tensor {
        try Operator.add_.callAsTensor([.tensor(self), .tensor(other), .double(alpha)])
    }
    @discardableResult public func add_(_ value: Double) throws -> Tensor {
        try Operator.addScalar_.callAsTensor([.tensor(self), .double(value)])
    }
    @discardableResult public func sub_(_ other: Tensor, alpha: Double = 1) throws -> Tensor {
        try Operator.sub_.callAsTensor([.tensor(self), .tensor(other), .double(alpha)])
    }
    @discardableResult public func mul_(_ other: Tensor) throws -> Tensor {
        try Operator.mul_.callAsTensor([.tensor(self), .tensor(other)])
    }
    @discardableResult public func mul_(_ value: Double) throws -> Tensor {
        try Operator.mulScalar_.callAsTensor([.tensor(self), .double(value)])
    }
    @discardableResult public func div_(_ other: Tensor) throws -> Tensor {
        try Operator.div_.callAsTensor([.tensor(self), .tensor(other)])
    }
    @discardableResult public func div_(_ value: Double) throws -> Tensor {
        try Operator.divScalar_.callAsTensor([.tensor(self), .double(value)])
    }
    @discardableResult public func zero_() throws -> Tensor { try Operator.zero_.callAsTensor([.tensor(self)]) }
    @discardableResult public func fill_(_ value: Double) throws -> Tensor {
        try Operator.fill_.callAsTensor([.tensor(self), .double(value)])
    }
    @discardableResult public func clamp_(min: Double? = nil, max: Double? = nil) throws -> Tensor {
        try Operator.clamp_.callAsTensor([.tensor(self), min.map { .double($0) } ?? .none, max.map { .double($0) } ?? .none])
    }
    /// `self += value * a * b`.
    @discardableResult public func addcmul_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws -> Tensor {
        try Operator.addcmul_.callAsTensor([.tensor(self), .tensor(a), .tensor(b), .double(value)])
    }
    /// `self += value * a / b`.
    @discardableResult public func addcdiv_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws -> Tensor {
        try Operator.addcdiv_.callAsTensor([.tensor(self), .tensor(a), .tensor(b), .double(value)])
    }
    /// `self += weight * (end - self)`.
    @discardableResult public func lerp_(_ end: Tensor, weight: Double) throws -> Tensor {
        try Operator.lerp_.callAsTensor([.tensor(self), .tensor(end), .double(weight)])
    }
}

/// Multi-tensor operations (`torch._foreach_*`) and fused optimizer steps: one dispatcher call updates a whole
/// list of tensors, as PyTorch's optimizers do.
public enum Foreach {
    public static func add_(_ tensors: [Tensor], _ value: Double) throws {
        try Operator.foreachAddScalar_.callForEffect([.tensors(tensors), .double(value)])
    }

    /// `tensors[i] += alpha * others[i]`.
    public static func add_(_ tensors: [Tensor], _ others: [Tensor], alpha: Double = 1) throws {
        try Operator.foreachAddList_.callForEffect([.tensors(tensors), .tensors(others), .double(alpha)])
    }

    public static func mul_(_ tensors: [Tensor], _ value: Double) throws {
        try Operator.foreachMulScalar_.callForEffect([.tensors(tensors), .double(value)])
    }

    /// Multiplies every tensor by the one-element tensor `factor` (no host synchronisation, as in clipping).
    public static func mul_(_ tensors: [Tensor], _ factor: Tensor) throws {
        try Operator.foreachMulTensor_.callForEffect([.tensors(tensors), .tensor(factor)])
    }

    public static func zero_(_ tensors: [Tensor]) throws { try Operator.foreachZero_.callForEffect([.tensors(tensors)]) }

    /// `destinations[i].copy_(sources[i])`.
    public static func copy_(_ destinations: [Tensor], _ sources: [Tensor]) throws {
        try Operator.foreachCopy_.callForEffect([.tensors(destinations), .tensors(sources)])
    }

    /// `tensors[i] += weight * (ends[i] - tensors[i])`.
    public static func lerp_(_ tensors: [Tensor], _ ends: [Tensor], weight: Double) throws {
        try Operator.foreachLerpScalar_.callForEffect([.tensors(tensors), .tensors(ends), .double(weight)])
    }

    /// `tensors[i] += value * a[i] * b[i]`.
    public static func addcmul_(_ tensors: [Tensor], _ a: [Tensor], _ b: [Tensor], value: Double = 1) throws {
        try Operator.foreachAddcmulScalar_.callForEffect([.tensors(tensors), .tensors(a), .tensors(b), .double(value)])
    }

    public static func sqrt(_ tensors: [Tensor]) throws -> [Tensor] {
        try Operator.foreachSqrt.callAsTensors([.tensors(tensors)], resultCapacity: max(tensors.count, 1))
    }

    /// The `ord`-norm of each tensor, as one-element tensors.
    public static func norm(_ tensors: [Tensor], ord: Double = 2) throws -> [Tensor] {
        try Operator.foreachNorm.callAsTensors([.tensors(tensors), .double(ord)], resultCapacity: max(tensors.count, 1))
    }

    /// One Adam step (L2 weight decay added to the gradient) over every parameter at once, as
    /// `torch.optim.Adam(fused=True)` takes it; `steps` as in ``fusedAdamW_(parameters:grads:expAvgs:expAvgSqs:steps:lr:beta1:beta2:weightDecay:eps:maximize:)``.
    public static func fusedAdam_(
        parameters: [Tensor], grads: [Tensor], expAvgs: [Tensor], expAvgSqs: [Tensor], steps: [Tensor],
        lr: Double, beta1: Double, beta2: Double, weightDecay: Double, eps: Double
    ) throws {
        try fusedAdam(
            .fusedAdam_, parameters: parameters, grads: grads, expAvgs: expAvgs, expAvgSqs: expAvgSqs, steps: steps, lr: .double(lr),
            beta1: beta1, beta2: beta2, weightDecay: weightDecay, eps: eps, maximize: false)
    }

    /// One AdamW step over every parameter at once, as `torch.optim.AdamW(fused=True)` takes it.
    ///
    /// `steps` holds one float32 zero-dimensional tensor per parameter; each is incremented before the update
    /// (the fused kernel reads it for bias correction but does not increment it).
    public static func fusedAdamW_(
        parameters: [Tensor], grads: [Tensor], expAvgs: [Tensor], expAvgSqs: [Tensor], steps: [Tensor],
        lr: Double, beta1: Double, beta2: Double, weightDecay: Double, eps: Double, maximize: Bool = false
    ) throws {
        try fusedAdam(
            .fusedAdamW_, parameters: parameters, grads: grads, expAvgs: expAvgs, expAvgSqs: expAvgSqs, steps: steps, lr: .double(lr),
            beta1: beta1, beta2: beta2, weightDecay: weightDecay, eps: eps, maximize: maximize)
    }

    /// ``fusedAdam_(parameters:grads:expAvgs:expAvgSqs:steps:lr:beta1:beta2:weightDecay:eps:)`` and
    /// ``fusedAdamW_(parameters:grads:expAvgs:expAvgSqs:steps:lr:beta1:beta2:weightDecay:eps:maximize:)`` with the
    /// learning rate read from `lr`, a zero-dimensional float32 tensor on the parameters' device (the `tensor_lr`
    /// overloads, what `capturable` optimizers use): a CUDA graph that captured the step reads the rate at each replay,
    /// so a schedule changes it by writing into the tensor.
    public static func fusedAdamW_(
        parameters: [Tensor], grads: [Tensor], expAvgs: [Tensor], expAvgSqs: [Tensor], steps: [Tensor],
        lr: Tensor, beta1: Double, beta2: Double, weightDecay: Double, eps: Double, decoupledWeightDecay: Bool = true
    ) throws {
        try fusedAdam(
            decoupledWeightDecay ? .fusedAdamWTensorLR_ : .fusedAdamTensorLR_, parameters: parameters, grads: grads, expAvgs: expAvgs,
            expAvgSqs: expAvgSqs, steps: steps, lr: .tensor(lr), beta1: beta1, beta2: beta2, weightDecay: weightDecay, eps: eps,
            maximize: false)
    }

    private static func fusedAdam(
        _ kernel: Operator, parameters: [Tensor], grads: [Tensor], expAvgs: [Tensor], expAvgSqs: [Tensor], steps: [Tensor],
        lr: Argument, beta1: Double, beta2: Double, weightDecay: Double, eps: Double, maximize: Bool
    ) throws {
        let count = parameters.count
        guard [grads.count, expAvgs.count, expAvgSqs.count, steps.count].allSatisfy({ $0 == count }) else {
            throw TorchError.invalidArgument("fused Adam needs one gradient, two moments and one step per parameter")
        }
        try add_(steps, 1)
        try kernel.callForEffect([
            .tensors(parameters), .tensors(grads), .tensors(expAvgs), .tensors(expAvgSqs), .tensors([]), .tensors(steps),
            lr, .double(beta1), .double(beta2), .double(weightDecay), .double(eps), .bool(false), .bool(maximize),
        ])
    }
}
