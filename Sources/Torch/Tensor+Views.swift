/// Shape manipulation, indexing and joining.
extension Tensor {
    public func reshape(_ shape: [Int]) throws -> Tensor { try Operator.reshape.callAsTensor([.tensor(self), .ints(shape)]) }

    /// A view with another shape; fails when the strides do not allow it.
    public func view(_ shape: [Int]) throws -> Tensor { try Operator.view.callAsTensor([.tensor(self), .ints(shape)]) }

    public func transpose(_ dim0: Int, _ dim1: Int) throws -> Tensor {
        try Operator.transpose.callAsTensor([.tensor(self), .int(dim0), .int(dim1)])
    }

    public func permute(_ dims: [Int]) throws -> Tensor { try Operator.permute.callAsTensor([.tensor(self), .ints(dims)]) }

    /// `length` elements of `dim` starting at `start`, as a view.
    /// A view with explicit sizes, strides and storage offset (`as_strided`), e.g. to rebuild a saved tensor.
    public func asStrided(_ size: [Int], _ stride: [Int], offset: Int = 0) throws -> Tensor {
        try Operator.asStrided.callAsTensor([.tensor(self), .ints(size), .ints(stride), .int(offset)])
    }

    public func narrow(_ dim: Int, start: Int, length: Int) throws -> Tensor {
        try Operator.narrow.callAsTensor([.tensor(self), .int(dim), .int(start), .int(length)])
    }

    /// Elements `start..<end` by `step` along `dim`, as a view (Python's `x[:, start:end:step]`).
    public func slice(_ dim: Int, start: Int? = nil, end: Int? = nil, step: Int = 1) throws -> Tensor {
        try Operator.slice.callAsTensor([
            .tensor(self), .int(dim), start.map { .int($0) } ?? .none, end.map { .int($0) } ?? .none, .int(step),
        ])
    }

    /// The sub-tensor at `index` of `dim`, which is removed (Python's `x[index]` for `dim` 0).
    public func select(_ dim: Int, _ index: Int) throws -> Tensor {
        try Operator.select.callAsTensor([.tensor(self), .int(dim), .int(index)])
    }

    public func indexSelect(_ dim: Int, _ index: Tensor) throws -> Tensor {
        try Operator.indexSelect.callAsTensor([.tensor(self), .int(dim), .tensor(index)])
    }

    /// Advanced indexing, one optional index tensor per leading dimension (Python's `x[idx0, idx1]`).
    public func index(_ indices: [Tensor?]) throws -> Tensor {
        try Operator.index.callAsTensor([.tensor(self), .optionalTensors(indices)])
    }

    public func gather(_ dim: Int, _ index: Tensor) throws -> Tensor {
        try Operator.gather.callAsTensor([.tensor(self), .int(dim), .tensor(index)])
    }

    public func scatterAdd(_ dim: Int, _ index: Tensor, _ source: Tensor) throws -> Tensor {
        try Operator.scatterAdd.callAsTensor([.tensor(self), .int(dim), .tensor(index), .tensor(source)])
    }

    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        try Operator.cat.callAsTensor([.tensors(tensors), .int(dim)])
    }

    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        try Operator.stack.callAsTensor([.tensors(tensors), .int(dim)])
    }

    /// Pieces of `size` elements along `dim` (the last may be smaller).
    public func split(_ size: Int, dim: Int = 0) throws -> [Tensor] {
        guard size > 0 else { throw TorchError.invalidArgument("split size must be positive, got \(size)") }
        let pieces = (self.size(dim) + size - 1) / size
        return try Operator.split.callAsTensors([.tensor(self), .int(size), .int(dim)], resultCapacity: Swift.max(pieces, 1))
    }

    /// At most `chunks` pieces of equal size along `dim`.
    public func chunk(_ chunks: Int, dim: Int = 0) throws -> [Tensor] {
        try Operator.chunk.callAsTensors([.tensor(self), .int(chunks), .int(dim)], resultCapacity: Swift.max(chunks, 1))
    }

    /// A broadcast view of size `shape` (-1 keeps a dimension).
    public func expand(_ shape: [Int]) throws -> Tensor { try Operator.expand.callAsTensor([.tensor(self), .ints(shape)]) }

    public func squeeze(_ dim: Int) throws -> Tensor { try Operator.squeeze.callAsTensor([.tensor(self), .int(dim)]) }
    public func unsqueeze(_ dim: Int) throws -> Tensor { try Operator.unsqueeze.callAsTensor([.tensor(self), .int(dim)]) }

    public func flatten(startDim: Int = 0, endDim: Int = -1) throws -> Tensor {
        try Operator.flatten.callAsTensor([.tensor(self), .int(startDim), .int(endDim)])
    }

    /// The lower triangle (below diagonal `diagonal`), zeros elsewhere.
    public func tril(_ diagonal: Int = 0) throws -> Tensor { try Operator.tril.callAsTensor([.tensor(self), .int(diagonal)]) }
    public func triu(_ diagonal: Int = 0) throws -> Tensor { try Operator.triu.callAsTensor([.tensor(self), .int(diagonal)]) }

    /// `value` where `mask` is true, this tensor's values elsewhere.
    public func maskedFill(_ mask: Tensor, _ value: Double) throws -> Tensor {
        try Operator.maskedFill.callAsTensor([.tensor(self), .tensor(mask), .double(value)])
    }

    /// Elementwise `condition ? a : b` (`torch.where`).
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try Operator.where_.callAsTensor([.tensor(condition), .tensor(a), .tensor(b)])
    }
}
