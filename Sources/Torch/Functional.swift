/// Neural-network functions, as in `torch.nn.functional`.
public enum Functional {
    /// How a loss reduces over its elements; raw values are ATen's codes.
    public enum Reduction: Int, Sendable {
        case none = 0
        case mean = 1
        case sum = 2
    }

    /// `input @ weight.T + bias`.
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try Operator.linear.callAsTensor([.tensor(input), .tensor(weight), .optionalTensor(bias)])
    }

    /// 2-D convolution of `input` (batch, channels, height, width) with `weight` (out channels, in channels,
    /// kernel height, kernel width), no padding or dilation (`torch.nn.functional.conv2d`).
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1) throws -> Tensor {
        try Operator.conv2d.callAsTensor([.tensor(input), .tensor(weight), .optionalTensor(bias), .ints([stride, stride])])
    }

    /// Rows of `weight` picked by the integer tensor `indices`.
    public static func embedding(_ indices: Tensor, weight: Tensor, paddingIndex: Int = -1) throws -> Tensor {
        try Operator.embedding.callAsTensor([.tensor(weight), .tensor(indices), .int(paddingIndex)])
    }

    /// Layer normalisation over the trailing `normalizedShape` dimensions.
    public static func layerNorm(
        _ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
        eps: Double = 1e-5
    ) throws -> Tensor {
        try Operator.layerNorm.callAsTensor([
            .tensor(input), .ints(normalizedShape), .optionalTensor(weight), .optionalTensor(bias), .double(eps),
        ])
    }

    /// RMS normalisation over the trailing `normalizedShape` dimensions (`torch.nn.functional.rms_norm`); `eps` nil
    /// uses the dtype's epsilon. Over the last dimension with a weight and `eps`, float32/float64 CPU tensors run the
    /// shim's one-pass kernel (as ``rmsLayerNorm(_:weight:bias:eps:)``); everything else is libtorch's `rms_norm`.
    public static func rmsNorm(
        _ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil,
        eps: Double? = nil
    ) throws -> Tensor {
        if normalizedShape.count == 1, let weight, let eps {
            return try rmsNormOverLastDimension(input, weight: weight, bias: nil, eps: eps, torchForm: true)
        }
        return try Operator.rmsNorm.callAsTensor([
            .tensor(input), .ints(normalizedShape), .optionalTensor(weight), eps.map { .double($0) } ?? .none,
        ])
    }

    /// Randomly zeroes elements with probability `p` and scales the rest by `1 / (1 - p)` when `training`.
    public static func dropout(_ input: Tensor, p: Double = 0.5, training: Bool = true) throws -> Tensor {
        guard (0...1).contains(p) else { throw TorchError.invalidArgument("dropout probability must be in [0, 1], got \(p)") }
        return try Operator.dropout.callAsTensor([.tensor(input), .double(p), .bool(training)])
    }

    /// Cross entropy between `logits` (N, C) or (N, C, ...) and integer `target` classes.
    ///
    /// Targets equal to `ignoreIndex` add nothing and are left out of the mean.
    public static func crossEntropy(
        _ logits: Tensor, target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean,
        ignoreIndex: Int = -100, labelSmoothing: Double = 0
    ) throws -> Tensor {
        try Operator.crossEntropy.callAsTensor([
            .tensor(logits), .tensor(target), .optionalTensor(weight), .int(reduction.rawValue), .int(ignoreIndex),
            .double(labelSmoothing),
        ])
    }

    /// Negative log-likelihood of integer `target` classes under `logProbabilities`.
    public static func nllLoss(
        _ logProbabilities: Tensor, target: Tensor, reduction: Reduction = .mean,
        ignoreIndex: Int = -100
    ) throws -> Tensor {
        try Operator.nllLoss.callAsTensor([.tensor(logProbabilities), .tensor(target), .none, .int(reduction.rawValue), .int(ignoreIndex)])
    }

    public static func mseLoss(_ input: Tensor, target: Tensor, reduction: Reduction = .mean) throws -> Tensor {
        try Operator.mseLoss.callAsTensor([.tensor(input), .tensor(target), .int(reduction.rawValue)])
    }

    /// Softmax attention `softmax(q kᵀ · scale + mask) v` over (batch, heads, sequence, head size) tensors.
    ///
    /// - Parameters:
    ///   - isCausal: each position attends to itself and earlier positions only.
    ///   - scale: defaults to `1 / sqrt(head size)`.
    ///   - enableGQA: `key`/`value` may have fewer heads than `query` (grouped-query attention); each key head
    ///     then serves `query heads / key heads` consecutive query heads.
    public static func scaledDotProductAttention(
        query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, dropout: Double = 0, isCausal: Bool = false,
        scale: Double? = nil, enableGQA: Bool = false
    ) throws -> Tensor {
        try Operator.scaledDotProductAttention.callAsTensor([
            .tensor(query), .tensor(key), .tensor(value), .optionalTensor(mask), .double(dropout), .bool(isCausal),
            scale.map { .double($0) } ?? .none, .bool(enableGQA),
        ])
    }

    /// The kernel family scaled dot-product attention picks for these inputs (`torch.backends.cuda` SDPA backends).
    public enum AttentionBackend: Int, Sendable, CustomStringConvertible {
        case math = 0
        case flashAttention = 1
        case efficientAttention = 2
        case cudnnAttention = 3
        case overrideable = 4

        public var description: String {
            switch self {
            case .math: return "math"
            case .flashAttention: return "flash attention"
            case .efficientAttention: return "memory-efficient attention"
            case .cudnnAttention: return "cuDNN attention"
            case .overrideable: return "overrideable"
            }
        }
    }

    /// Which backend ``scaledDotProductAttention(query:key:value:mask:dropout:isCausal:scale:enableGQA:)`` runs for
    /// these arguments, as libtorch's dispatcher decides it (`torch._fused_sdp_choice`).
    public static func attentionBackend(
        query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, dropout: Double = 0, isCausal: Bool = false,
        enableGQA: Bool = false
    ) throws -> AttentionBackend {
        let results = try Operator.fusedAttentionChoice.call([
            .tensor(query), .tensor(key), .tensor(value), .optionalTensor(mask), .double(dropout), .bool(isCausal),
            .none, .bool(enableGQA),
        ])
        guard case .int(let code)? = results.first, let backend = AttentionBackend(rawValue: code) else {
            throw TorchError.invalidArgument("no attention backend fits these inputs (aten::_fused_sdp_choice: \(results))")
        }
        return backend
    }
}

/// Activations, available on every tensor.
extension Tensor {
    /// How GELU is computed: exactly with erf, or with PyTorch's tanh approximation.
    public enum GELUApproximation: String, Sendable {
        case none
        case tanh
    }

    public func gelu(approximate: GELUApproximation = .none) throws -> Tensor {
        try Operator.gelu.callAsTensor([.tensor(self), .string(approximate.rawValue)])
    }

    public func silu() throws -> Tensor { try Operator.silu.callAsTensor([.tensor(self)]) }
    public func relu() throws -> Tensor { try Operator.relu.callAsTensor([.tensor(self)]) }

    public func softmax(dim: Int, dtype: DType? = nil) throws -> Tensor {
        try Operator.softmax.callAsTensor([.tensor(self), .int(dim), .dtype(dtype)])
    }

    public func logSoftmax(dim: Int, dtype: DType? = nil) throws -> Tensor {
        try Operator.logSoftmax.callAsTensor([.tensor(self), .int(dim), .dtype(dtype)])
    }
}
