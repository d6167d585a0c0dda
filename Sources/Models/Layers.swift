import Torch

/// A linear layer `y = x Wᵀ + b` whose parameters are registered under `name.weight` / `name.bias`.
struct Linear {
    let weight: Tensor
    let bias: Tensor?

    init(_ name: String, input: Int, output: Int, bias: Bool, in store: ParameterStore) throws {
        weight = try store.make("\(name).weight", shape: [output, input])
        self.bias = bias ? try store.make("\(name).bias", shape: [output]) : nil
    }

    /// `kept` (inside a selectively checkpointed block) keeps or hands back the products of layers without bias.
    func callAsFunction(_ x: Tensor, kept: OperatorOutputCache? = nil) throws -> Tensor {
        if let kept, bias == nil { return try kept.linear(x, weight: weight) }
        return try Functional.linear(x, weight: weight, bias: bias)
    }

    /// `x` times the weight, without the bias (a row-parallel layer adds it after summing over its group).
    func product(_ x: Tensor, kept: OperatorOutputCache? = nil) throws -> Tensor {
        if let kept { return try kept.linear(x, weight: weight) }
        return try Functional.linear(x, weight: weight, bias: nil)
    }
}

/// LayerNorm, Modalities' RMSLayerNorm (optional bias, computed in float32) or PyTorch's RMSNorm.
struct Norm {
    let kind: GPT2LLMConfig.NormKind
    let epsilon: Double
    let weight: Tensor
    let bias: Tensor?
    let size: Int

    init(_ name: String, size: Int, config: GPT2LLMConfig.Norm, in store: ParameterStore) throws {
        kind = config.kind
        epsilon = config.epsilon
        self.size = size
        weight = try store.make("\(name).weight", shape: [size], fill: 1)
        bias = config.bias && config.kind != .pytorchRMSNorm ? try store.make("\(name).bias", shape: [size], fill: 0) : nil
    }

    /// The normalised `x`.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        switch kind {
        case .layerNorm:
            return try Functional.layerNorm(x, normalizedShape: [size], weight: weight, bias: bias, eps: epsilon)
        case .pytorchRMSNorm:
            return try Functional.rmsNorm(x, normalizedShape: [size], weight: weight, eps: epsilon)
        case .rmsNorm:
            return try Functional.rmsLayerNorm(x, weight: weight, bias: bias, eps: epsilon)
        }
    }
}

/// Rotary position embedding on (batch, heads, sequence, head size) tensors, rotate-half layout; the cos and sin
/// tables for one forward's positions are made once and shared by every layer's queries and keys.
struct Rotary {
    let cos: Tensor
    let sin: Tensor

    /// Tables for `length` positions starting at `offset`.
    init(headSize: Int, baseFrequency: Double, offset: Int, length: Int, dtype: DType, device: Device = .cpu) throws {
        // Made on the device itself: no host-to-device copy, so a forward on a GPU can be captured in a CUDA graph.
        let exponents = try Tensor.arange(0, Double(headSize), step: 2, dtype: .float32, device: device) / Double(headSize)
        let inverseFrequencies = try Tensor.full([], baseFrequency, device: device).pow(exponents).reciprocal()
        let positions = try Tensor.arange(Double(offset), Double(offset + length), dtype: .float32, device: device)
        let angles = try positions.outer(inverseFrequencies)
        let embedding = try Tensor.cat([angles, angles], dim: -1)
        cos = try embedding.cos().to(dtype: dtype)
        sin = try embedding.sin().to(dtype: dtype)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let halves = try x.chunk(2, dim: -1)
        let rotated = try Tensor.cat([-halves[1], halves[0]], dim: -1)
        return try x * cos + rotated * sin
    }
}
