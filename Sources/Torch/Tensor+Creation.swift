import Foundation

/// Factory functions, named as in PyTorch (`torch.zeros`, `torch.randn`, ...).
extension Tensor {
    /// An uninitialised tensor.
    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try Operator.empty.callAsTensor([.ints(shape), .dtype(dtype), .none, .device(device)])
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try Operator.zeros.callAsTensor([.ints(shape), .dtype(dtype), .none, .device(device)])
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try Operator.ones.callAsTensor([.ints(shape), .dtype(dtype), .none, .device(device)])
    }

    /// A tensor with every element equal to `value`.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try Operator.full.callAsTensor([.ints(shape), .double(value), .dtype(dtype), .none, .device(device)])
    }

    /// The values `start, start + step, ...` below `end`.
    public static func arange(
        _ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64,
        device: Device = .cpu
    ) throws -> Tensor {
        try Operator.arange.callAsTensor([
            .double(start), .double(end), .double(step), .dtype(dtype), .none, .device(device),
        ])
    }

    /// Integers `0..<end` (PyTorch's `torch.arange(end)`).
    public static func arange(_ end: Int, dtype: DType = .int64, device: Device = .cpu) throws -> Tensor {
        try Operator.arange.callAsTensor([.int(0), .int(end), .int(1), .dtype(dtype), .none, .device(device)])
    }

    /// Standard normal samples; `generator` defaults to the process-wide one.
    public static func randn(
        _ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
        generator: Generator? = nil
    ) throws -> Tensor {
        try Operator.randn.callAsTensor([.ints(shape), .generator(generator), .dtype(dtype), .none, .device(device)])
    }

    /// Uniform samples in [0, 1).
    public static func rand(
        _ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
        generator: Generator? = nil
    ) throws -> Tensor {
        try Operator.rand.callAsTensor([.ints(shape), .generator(generator), .dtype(dtype), .none, .device(device)])
    }

    /// Uniform integers in `low..<high`.
    public static func randint(
        _ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64, device: Device = .cpu,
        generator: Generator? = nil
    ) throws -> Tensor {
        try Operator.randint.callAsTensor([
            .int(low), .int(high), .ints(shape), .generator(generator), .dtype(dtype), .none, .device(device),
        ])
    }

    /// A random permutation of `0..<n`.
    public static func randperm(
        _ n: Int, dtype: DType = .int64, device: Device = .cpu,
        generator: Generator? = nil
    ) throws -> Tensor {
        try Operator.randperm.callAsTensor([.int(n), .generator(generator), .dtype(dtype), .none, .device(device)])
    }

    public func zerosLike() throws -> Tensor { try Operator.zerosLike.callAsTensor([.tensor(self)]) }
    public func onesLike() throws -> Tensor { try Operator.onesLike.callAsTensor([.tensor(self)]) }
    public func fullLike(_ value: Double) throws -> Tensor {
        try Operator.fullLike.callAsTensor([.tensor(self), .double(value)])
    }

    /// Fills the tensor in place with normal samples (`Tensor.normal_`).
    @discardableResult
    public func normal_(mean: Double = 0, std: Double = 1, generator: Generator? = nil) throws -> Tensor {
        try Operator.normal_.callAsTensor([.tensor(self), .double(mean), .double(std), .generator(generator)])
    }

    /// Indices drawn from the rows of this non-negative weight tensor (`torch.multinomial`).
    public func multinomial(_ samples: Int, replacement: Bool = false, generator: Generator? = nil) throws -> Tensor {
        try Operator.multinomial.callAsTensor([.tensor(self), .int(samples), .bool(replacement), .generator(generator)])
    }

    /// Fills the tensor in place with uniform samples in `[low, high)` (`Tensor.uniform_`).
    @discardableResult
    public func uniform_(_ low: Double = 0, _ high: Double = 1, generator: Generator? = nil) throws -> Tensor {
        try Operator.uniform_.callAsTensor([.tensor(self), .double(low), .double(high), .generator(generator)])
    }

    /// Fills the tensor in place with normal samples (`mean`, `std`) truncated to `[a, b]`, by PyTorch's
    /// `nn.init.trunc_normal_` method (inverse CDF of uniform samples between the bounds' CDF values), computed
    /// in float32 and copied back.
    @discardableResult
    public func truncatedNormal_(
        mean: Double = 0, std: Double = 1, a: Double = -2, b: Double = 2, generator: Generator? = nil
    ) throws -> Tensor {
        func normalCDF(_ x: Double) -> Double { (1 + erf(x / 2.0.squareRoot())) / 2 }
        let low = normalCDF((a - mean) / std), high = normalCDF((b - mean) / std)
        let values = try Tensor.empty(shape, dtype: .float32, device: device)
        try values.uniform_(2 * low - 1, 2 * high - 1, generator: generator)
        _ = try Operator.erfinv_.callAsTensor([.tensor(values)])
        try values.mul_(std * 2.0.squareRoot())
        try values.add_(mean)
        try values.clamp_(min: a, max: b)
        return try copy_(values)
    }
}

/// Conversions and copies.
extension Tensor {
    /// The tensor converted to another device and/or dtype; returns `self` when nothing changes.
    ///
    /// With `nonBlocking`, a copy between pinned host memory and a GPU is queued on the current stream and the call
    /// returns at once (`tensor.to(device, non_blocking=True)`); read the result only after that stream has run.
    public func to(device: Device? = nil, dtype: DType? = nil, copy: Bool = false, nonBlocking: Bool = false) throws -> Tensor {
        try Operator.to.callAsTensor([.tensor(self), .dtype(dtype), .none, .device(device), .none, .bool(nonBlocking), .bool(copy)])
    }

    public func to(dtype: DType) throws -> Tensor { try to(device: nil, dtype: dtype) }

    /// A copy in page-locked host memory (`tensor.pin_memory()`), from which copies to a GPU can be non-blocking.
    /// Needs CUDA loaded: pinned memory comes from its host allocator.
    public func pinned() throws -> Tensor { try Operator.pinMemory.callAsTensor([.tensor(self)]) }

    /// Whether the tensor lives in page-locked host memory.
    public func isPinned() throws -> Bool {
        guard case .bool(let pinned)? = try Operator.isPinned.call([.tensor(self)]).first else {
            throw TorchError.invalidArgument("aten::is_pinned did not return a bool")
        }
        return pinned
    }

    public func contiguous() throws -> Tensor { try Operator.contiguous.callAsTensor([.tensor(self)]) }

    /// A copy with its own storage that stays in the autograd graph.
    public func clone() throws -> Tensor { try Operator.clone.callAsTensor([.tensor(self)]) }

    /// The same values, cut from the autograd graph (shares storage).
    public func detach() throws -> Tensor { try Operator.detach.callAsTensor([.tensor(self)]) }

    /// Copies `source`'s values into this tensor in place (broadcasting, converting dtype and device).
    @discardableResult
    public func copy_(_ source: Tensor) throws -> Tensor {
        try Operator.copy_.callAsTensor([.tensor(self), .tensor(source)])
    }
}
