/// The shape of a GPT2LLM (Modalities' model family): GPT-2 (learned positions, GELU, LayerNorm) and Llama
/// (RoPE, SwiGLU, RMSNorm, grouped-query attention) forms, with Modalities' field meanings.
public struct GPT2LLMConfig: Sendable, Equatable {
    public enum PositionEmbedding: String, Sendable { case none = "NOPE", absolute = "ABSOLUTE" }
    /// `gelu` is the exact GELU (Modalities'); `geluTanh` is its tanh approximation (`gelu_new`, original GPT-2
    /// checkpoints), reached only by importing such checkpoints.
    public enum Activation: String, Sendable { case gelu, geluTanh = "gelu_new", swiglu }
    public enum AttentionImplementation: String, Sendable { case manual, pytorchFlash = "pytorch_flash", daoFlash = "dao_flash" }
    public enum NormKind: String, Sendable { case layerNorm = "layer_norm", rmsNorm = "rms_norm", pytorchRMSNorm = "pytorch_rms_norm" }

    /// A normalisation layer: its kind, epsilon and whether it has a bias.
    public struct Norm: Sendable, Equatable {
        public var kind: NormKind
        public var epsilon: Double
        public var bias: Bool

        public init(kind: NormKind, epsilon: Double = 1e-5, bias: Bool = true) {
            self.kind = kind
            self.epsilon = epsilon
            self.bias = bias
        }
    }

    public var vocabularySize: Int
    public var sequenceLength: Int
    public var layerCount: Int
    public var queryHeads: Int
    public var keyValueHeads: Int
    public var embeddingSize: Int
    public var ffnHidden: Int
    public var dropout: Double
    public var bias: Bool
    public var positionEmbedding: PositionEmbedding
    /// RoPE base frequency when queries and keys are rotated (Modalities' `RotaryTransform`), nil for none.
    public var rotaryBaseFrequency: Double?
    public var attentionImplementation: AttentionImplementation
    public var activation: Activation
    public var attentionNorm: Norm
    public var ffnNorm: Norm
    public var lmHeadNorm: Norm
    public var weightTying: Bool
    public var swigluHiddenMultiple: Int

    public init(
        vocabularySize: Int, sequenceLength: Int, layerCount: Int, queryHeads: Int, keyValueHeads: Int,
        embeddingSize: Int, ffnHidden: Int, dropout: Double = 0, bias: Bool, positionEmbedding: PositionEmbedding,
        rotaryBaseFrequency: Double? = nil, attentionImplementation: AttentionImplementation = .manual,
        activation: Activation, attentionNorm: Norm, ffnNorm: Norm, lmHeadNorm: Norm, weightTying: Bool,
        swigluHiddenMultiple: Int = 256
    ) {
        self.vocabularySize = vocabularySize
        self.sequenceLength = sequenceLength
        self.layerCount = layerCount
        self.queryHeads = queryHeads
        self.keyValueHeads = keyValueHeads
        self.embeddingSize = embeddingSize
        self.ffnHidden = ffnHidden
        self.dropout = dropout
        self.bias = bias
        self.positionEmbedding = positionEmbedding
        self.rotaryBaseFrequency = rotaryBaseFrequency
        self.attentionImplementation = attentionImplementation
        self.activation = activation
        self.attentionNorm = attentionNorm
        self.ffnNorm = ffnNorm
        self.lmHeadNorm = lmHeadNorm
        self.weightTying = weightTying
        self.swigluHiddenMultiple = swigluHiddenMultiple
    }

    public var headSize: Int { embeddingSize / queryHeads }

    /// SwiGLU's hidden size, Modalities' rule: int(2 · ffn_hidden / 3) rounded up to the multiple.
    public var swigluHidden: Int { Self.swigluHidden(ffnHidden: ffnHidden, multiple: swigluHiddenMultiple) }

    /// Modalities' `SwiGLU._get_hidden_dim`: int(2 · ffn_hidden / 3) rounded up to a multiple of `multiple`.
    static func swigluHidden(ffnHidden: Int, multiple: Int = 256) -> Int {
        (2 * ffnHidden / 3 + multiple - 1) / multiple * multiple
    }

    /// Problems that make the model impossible to build (divisibility only warns, as real checkpoints need).
    public func validate() throws {
        guard embeddingSize % queryHeads == 0 else {
            throw ModelError.invalidConfig("n_embd (\(embeddingSize)) must be divisible by n_head_q (\(queryHeads))")
        }
        guard keyValueHeads > 0, queryHeads % keyValueHeads == 0 else {
            throw ModelError.invalidConfig("n_head_q (\(queryHeads)) must be a multiple of n_head_kv (\(keyValueHeads))")
        }
        if rotaryBaseFrequency != nil && positionEmbedding != .none {
            throw ModelError.invalidConfig("RotaryTransform is used together with poe_type NOPE")
        }
    }
}

/// A model that cannot be built or run as asked.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case missingParameter(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A module's input, output or gradient held NaN or infinite values (`model_debugging_hook/nan_hook`).
    case nonFinite(String)

    public var description: String {
        switch self {
        case .nonFinite(let message): return message
        case .invalidConfig(let message): return message
        case .missingParameter(let name): return "no parameter named \(name)"
        case let .shapeMismatch(name, expected, found): return "\(name) has shape \(found), the model expects \(expected)"
        }
    }
}
