/// Broadcasting arithmetic and elementwise math, with PyTorch's operators and names.
extension Tensor {
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Operator.add.callAsTensor([.tensor(lhs), .tensor(rhs)]) }
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Operator.sub.callAsTensor([.tensor(lhs), .tensor(rhs)]) }
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Operator.mul.callAsTensor([.tensor(lhs), .tensor(rhs)]) }
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Operator.div.callAsTensor([.tensor(lhs), .tensor(rhs)]) }

    public static func + (lhs: Tensor, rhs: Double) throws -> Tensor { try Operator.addScalar.callAsTensor([.tensor(lhs), .double(rhs)]) }
    public static func - (lhs: Tensor, rhs: Double) throws -> Tensor { try Operator.subScalar.callAsTensor([.tensor(lhs), .double(rhs)]) }
    public static func * (lhs: Tensor, rhs: Double) throws -> Tensor { try Operator.mulScalar.callAsTensor([.tensor(lhs), .double(rhs)]) }
    public static func / (lhs: Tensor, rhs: Double) throws -> Tensor { try Operator.divScalar.callAsTensor([.tensor(lhs), .double(rhs)]) }
    public static func + (lhs: Double, rhs: Tensor) throws -> Tensor { try rhs + lhs }
    public static func - (lhs: Double, rhs: Tensor) throws -> Tensor { try Operator.rsubScalar.callAsTensor([.tensor(rhs), .double(lhs)]) }
    public static func * (lhs: Double, rhs: Tensor) throws -> Tensor { try rhs * lhs }

    public static prefix func - (operand: Tensor) throws -> Tensor { try Operator.neg.callAsTensor([.tensor(operand)]) }

    /// `self + alpha * other` (`torch.add` with `alpha`).
    public func add(_ other: Tensor, alpha: Double = 1) throws -> Tensor {
        try Operator.add.callAsTensor([.tensor(self), .tensor(other), .double(alpha)])
    }

    public func pow(_ exponent: Double) throws -> Tensor { try Operator.pow.callAsTensor([.tensor(self), .double(exponent)]) }
    public func pow(_ exponent: Tensor) throws -> Tensor { try Operator.powTensor.callAsTensor([.tensor(self), .tensor(exponent)]) }
    public func exp() throws -> Tensor { try Operator.exp.callAsTensor([.tensor(self)]) }
    public func log() throws -> Tensor { try Operator.log.callAsTensor([.tensor(self)]) }
    public func sqrt() throws -> Tensor { try Operator.sqrt.callAsTensor([.tensor(self)]) }
    public func rsqrt() throws -> Tensor { try Operator.rsqrt.callAsTensor([.tensor(self)]) }
    public func reciprocal() throws -> Tensor { try Operator.reciprocal.callAsTensor([.tensor(self)]) }
    public func abs() throws -> Tensor { try Operator.abs.callAsTensor([.tensor(self)]) }
    public func sin() throws -> Tensor { try Operator.sin.callAsTensor([.tensor(self)]) }
    public func cos() throws -> Tensor { try Operator.cos.callAsTensor([.tensor(self)]) }
    public func tanh() throws -> Tensor { try Operator.tanh.callAsTensor([.tensor(self)]) }
    public func sigmoid() throws -> Tensor { try Operator.sigmoid.callAsTensor([.tensor(self)]) }

    /// Values limited to `[min, max]`; `nil` leaves a side open.
    public func clamp(min: Double? = nil, max: Double? = nil) throws -> Tensor {
        try Operator.clamp.callAsTensor([.tensor(self), min.map { .double($0) } ?? .none, max.map { .double($0) } ?? .none])
    }

    public static func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try Operator.minimum.callAsTensor([.tensor(a), .tensor(b)]) }
    public static func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try Operator.maximum.callAsTensor([.tensor(a), .tensor(b)]) }
}

/// Elementwise comparisons (results are `bool` tensors) and whole-tensor equality.
extension Tensor {
    public func eq(_ other: Tensor) throws -> Tensor { try Operator.eq.callAsTensor([.tensor(self), .tensor(other)]) }
    public func ne(_ other: Tensor) throws -> Tensor { try Operator.ne.callAsTensor([.tensor(self), .tensor(other)]) }
    public func lt(_ other: Tensor) throws -> Tensor { try Operator.lt.callAsTensor([.tensor(self), .tensor(other)]) }
    public func le(_ other: Tensor) throws -> Tensor { try Operator.le.callAsTensor([.tensor(self), .tensor(other)]) }
    public func gt(_ other: Tensor) throws -> Tensor { try Operator.gt.callAsTensor([.tensor(self), .tensor(other)]) }
    public func ge(_ other: Tensor) throws -> Tensor { try Operator.ge.callAsTensor([.tensor(self), .tensor(other)]) }
    public func eq(_ value: Double) throws -> Tensor { try Operator.eqScalar.callAsTensor([.tensor(self), .double(value)]) }
    public func ne(_ value: Double) throws -> Tensor { try Operator.neScalar.callAsTensor([.tensor(self), .double(value)]) }
    public func lt(_ value: Double) throws -> Tensor { try Operator.ltScalar.callAsTensor([.tensor(self), .double(value)]) }
    public func le(_ value: Double) throws -> Tensor { try Operator.leScalar.callAsTensor([.tensor(self), .double(value)]) }
    public func gt(_ value: Double) throws -> Tensor { try Operator.gtScalar.callAsTensor([.tensor(self), .double(value)]) }
    public func ge(_ value: Double) throws -> Tensor { try Operator.geScalar.callAsTensor([.tensor(self), .double(value)]) }

    public func logicalNot() throws -> Tensor { try Operator.logicalNot.callAsTensor([.tensor(self)]) }
    public func logicalAnd(_ other: Tensor) throws -> Tensor { try Operator.logicalAnd.callAsTensor([.tensor(self), .tensor(other)]) }
    public func isfinite() throws -> Tensor { try Operator.isfinite.callAsTensor([.tensor(self)]) }

    /// Whether every element is within `atol + rtol * |other|` of `other` (`torch.allclose`).
    public func allclose(_ other: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8) throws -> Bool {
        guard case .bool(let close)? = try Operator.allclose.call([.tensor(self), .tensor(other), .double(rtol), .double(atol)]).first
        else {
            throw TorchError.invalidArgument("aten::allclose did not return a bool")
        }
        return close
    }

    /// Same shape and exactly the same values (`torch.equal`).
    public func equal(_ other: Tensor) throws -> Bool {
        guard case .bool(let equal)? = try Operator.equal.call([.tensor(self), .tensor(other)]).first else {
            throw TorchError.invalidArgument("aten::equal did not return a bool")
        }
        return equal
    }
}
