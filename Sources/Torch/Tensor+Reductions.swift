/// Reductions over all elements or chosen dimensions.
extension Tensor {
    /// The sum of all elements, optionally accumulated in `dtype`.
    public func sum(dtype: DType? = nil) throws -> Tensor { try Operator.sum.callAsTensor([.tensor(self), .dtype(dtype)]) }

    public func sum(dims: [Int], keepDim: Bool = false, dtype: DType? = nil) throws -> Tensor {
        try Operator.sumDims.callAsTensor([.tensor(self), .ints(dims), .bool(keepDim), .dtype(dtype)])
    }

    public func mean() throws -> Tensor { try Operator.mean.callAsTensor([.tensor(self)]) }

    public func mean(dims: [Int], keepDim: Bool = false) throws -> Tensor {
        try Operator.meanDims.callAsTensor([.tensor(self), .ints(dims), .bool(keepDim)])
    }

    /// The largest element.
    public func max() throws -> Tensor { try Operator.maxAll.callAsTensor([.tensor(self)]) }
    public func min() throws -> Tensor { try Operator.minAll.callAsTensor([.tensor(self)]) }

    /// The largest values along `dim` and their indices.
    public func max(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        let results = try Operator.maxDim.callAsTensors([.tensor(self), .int(dim), .bool(keepDim)], resultCapacity: 2)
        return (results[0], results[1])
    }

    /// The index of the largest value along `dim`, or in the flattened tensor when `dim` is nil.
    public func argmax(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
        try Operator.argmax.callAsTensor([.tensor(self), dim.map { .int($0) } ?? .none, .bool(keepDim)])
    }

    /// The `ord`-norm over `dims` (all elements when nil), as `torch.linalg.vector_norm`.
    public func norm(_ ord: Double = 2, dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor {
        try Operator.norm.callAsTensor([.tensor(self), .double(ord), dims.map { .ints($0) } ?? .none, .bool(keepDim)])
    }

    /// The variance over `dims` (all when nil) with Bessel's `correction` (1 = unbiased).
    public func variance(dims: [Int]? = nil, correction: Double = 1, keepDim: Bool = false) throws -> Tensor {
        try Operator.variance.callAsTensor([.tensor(self), dims.map { .ints($0) } ?? .none, .double(correction), .bool(keepDim)])
    }

    /// Values sorted along `dim` and their original indices.
    public func sort(dim: Int = -1, descending: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        let results = try Operator.sort.callAsTensors([.tensor(self), .int(dim), .bool(descending)], resultCapacity: 2)
        return (results[0], results[1])
    }

    /// The `k` largest (or smallest) values along `dim` and their indices.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) throws -> (values: Tensor, indices: Tensor) {
        let results = try Operator.topk.callAsTensors([.tensor(self), .int(k), .int(dim), .bool(largest), .bool(true)], resultCapacity: 2)
        return (results[0], results[1])
    }

    public func all() throws -> Tensor { try Operator.all.callAsTensor([.tensor(self)]) }
    public func any() throws -> Tensor { try Operator.any.callAsTensor([.tensor(self)]) }

    public func cumsum(_ dim: Int, dtype: DType? = nil) throws -> Tensor {
        try Operator.cumsum.callAsTensor([.tensor(self), .int(dim), .dtype(dtype)])
    }
}

/// Matrix products.
extension Tensor {
    /// Matrix product with NumPy broadcasting (`torch.matmul`).
    public func matmul(_ other: Tensor) throws -> Tensor { try Operator.matmul.callAsTensor([.tensor(self), .tensor(other)]) }
    public func mm(_ other: Tensor) throws -> Tensor { try Operator.mm.callAsTensor([.tensor(self), .tensor(other)]) }
    /// Batched matrix product of two rank-3 tensors.
    public func bmm(_ other: Tensor) throws -> Tensor { try Operator.bmm.callAsTensor([.tensor(self), .tensor(other)]) }
    public func outer(_ other: Tensor) throws -> Tensor { try Operator.outer.callAsTensor([.tensor(self), .tensor(other)]) }
}
