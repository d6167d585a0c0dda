import Torch

/// Modalities' `nn.attention.MultiHeadAttention`, the attention of its vision transformer and CoCa: query, key and
/// value projections (`wq`, `wk`, `wv`) and the output projection (`c_proj`), all `n_embd × n_embd`, over `n_head`
/// heads; causal or not over its own input, or cross-attention from the input to a context of the same width.
struct MultiHeadAttention {
    /// Modalities' `AttentionType`.
    enum Kind: Sendable {
        case causalSelfAttention, nonCausalSelfAttention, crossAttention
    }

    let kind: Kind
    let heads: Int
    /// `pytorch_flash_attention` runs libtorch's scaled_dot_product_attention; `default_attention` the explicit
    /// softmax(QKᵀ/√d)·V.
    let engine: AttentionEngine
    let query: Linear
    let key: Linear
    let value: Linear
    let output: Linear

    init(_ name: String, width: Int, heads: Int, bias: Bool, kind: Kind, engine: AttentionEngine, in store: ParameterStore) throws {
        guard heads > 0, width % heads == 0 else {
            throw ModelError.invalidConfig("\(name): n_embd \(width) is not divisible by n_head \(heads)")
        }
        self.kind = kind
        self.heads = heads
        self.engine = engine
        query = try Linear("\(name).wq", input: width, output: width, bias: bias, in: store)
        key = try Linear("\(name).wk", input: width, output: width, bias: bias, in: store)
        value = try Linear("\(name).wv", input: width, output: width, bias: bias, in: store)
        output = try Linear("\(name).c_proj", input: width, output: width, bias: bias, in: store)
    }

    /// Attention of `x` (batch, length, width) over itself, or over `context` (batch, context length, width) for
    /// cross-attention.
    func callAsFunction(_ x: Tensor, context: Tensor? = nil) throws -> Tensor {
        let source = kind == .crossAttention ? (context ?? x) : x
        let (batch, length, width) = (x.size(0), x.size(1), x.size(2))
        let headSize = width / heads
        func split(_ t: Tensor, _ length: Int) throws -> Tensor { try t.view([batch, length, heads, headSize]).transpose(1, 2) }
        let q = try split(query(x), length)
        let k = try split(key(source), source.size(1))
        let v = try split(value(source), source.size(1))
        let causal = kind == .causalSelfAttention
        let y: Tensor
        switch engine {
        case .pytorchFlash:
            y = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: causal)
        case .manual:
            var scores = try q.matmul(k.transpose(-2, -1)) * (1 / Double(headSize).squareRoot())
            if causal {
                let future = try Tensor.ones([length, length], dtype: .bool, device: x.device).triu(1)
                scores = try scores.maskedFill(future, -Double.infinity)
            }
            y = try scores.softmax(dim: -1).matmul(v)
        }
        return try output(y.transpose(1, 2).contiguous().view([batch, length, width]))
    }
}

/// Modalities' `AttentionConfig.attention_engine_type`.
public enum AttentionEngine: String, Sendable {
    /// `default_attention`: the explicit softmax(QKᵀ/√d)·V.
    case manual = "default_attention"
    /// `pytorch_flash_attention`: libtorch's scaled_dot_product_attention.
    case pytorchFlash = "pytorch_flash_attention"
}

/// The activation of CoCa's feed-forward networks (Modalities' `ActivationType` values `gelu` and `swiglu`).
public enum FeedForwardActivation: String, Sendable {
    case gelu, swiglu
}

/// The feed-forward network of CoCa's and the vision transformer's blocks: Modalities' `nn.mlp.MLP` (`fc1`, exact
/// GELU, `fc2`) or its `SwiGLU` (`W`, `V`, `W_2`, hidden size rounded as GPT2LLM's, to multiples of 256).
struct FeedForward {
    typealias Activation = FeedForwardActivation

    let activation: Activation
    let layers: [Linear]
    let dropout: Double

    init(_ name: String, width: Int, hidden: Int, bias: Bool, activation: Activation, dropout: Double, in store: ParameterStore) throws {
        self.activation = activation
        self.dropout = dropout
        switch activation {
        case .gelu:
            layers = [
                try Linear("\(name).fc1", input: width, output: hidden, bias: bias, in: store),
                try Linear("\(name).fc2", input: hidden, output: width, bias: bias, in: store),
            ]
        case .swiglu:
            let rounded = GPT2LLMConfig.swigluHidden(ffnHidden: hidden)
            layers = [
                try Linear("\(name).W", input: width, output: rounded, bias: bias, in: store),
                try Linear("\(name).V", input: width, output: rounded, bias: bias, in: store),
                try Linear("\(name).W_2", input: rounded, output: width, bias: bias, in: store),
            ]
        }
    }

    func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        switch activation {
        case .gelu:
            // Modalities' MLP drops out after the activation and after the output projection.
            let hidden = try Functional.dropout(layers[0](x).gelu(), p: dropout, training: training && dropout > 0)
            return try Functional.dropout(layers[1](hidden), p: dropout, training: training && dropout > 0)
        case .swiglu:
            return try layers[2](layers[0](x).silu() * layers[1](x))
        }
    }
}
