import Torch

/// Modalities' `model_initialization/composed`. For the GPT-2 model type: a plain normal initialisation of all
/// linear and embedding weights (biases zero), then optionally the residual projections scaled by
/// `1/sqrt(2·layers)` (`scaled`) and the embeddings drawn with std `sqrt(0.4)` (`scaled_embed`). For CoCa: every
/// weight and bias outside the norms (names without `norm` or `ln_`), whatever the type (Modalities has no scaled
/// groups for CoCa); then the parameters CoCa's constructor draws itself in Modalities: `vision_queries` from the
/// standard normal (`torch.randn`) and the text decoder's class token, which Modalities leaves uninitialised
/// (`torch.empty`), from the plain normal.
///
/// Parameters are visited in creation order with one seeded generator, so the same seed gives the same weights
/// whatever the device or later sharding.
public struct ComposedInitialization: Sendable {
    public enum WeightInitType: String, Sendable { case plain, scaled, scaledEmbed = "scaled_embed" }

    /// `std` as a number, or `auto` = sqrt(2 / (5 · hidden_dim)).
    public enum StandardDeviation: Sendable, Equatable {
        case value(Double)
        case auto(hiddenSize: Int)

        var resolved: Double {
            switch self {
            case .value(let std): return std
            case .auto(let hidden): return (2.0 / (5.0 * Double(hidden))).squareRoot()
            }
        }
    }

    /// Modalities' `SupportWeightInitModels`: which parameter names each step draws.
    public enum ModelType: String, Sendable { case gpt2, coca }

    public var modelType: ModelType
    public var weightInitType: WeightInitType
    public var mean: Double
    public var std: StandardDeviation
    public var layerCount: Int?

    public init(
        modelType: ModelType = .gpt2, weightInitType: WeightInitType, mean: Double = 0, std: StandardDeviation, layerCount: Int? = nil
    ) throws {
        if weightInitType != .plain && layerCount == nil {
            throw ModelError.invalidConfig("num_layers must be given for weight_init_type \(weightInitType.rawValue)")
        }
        if weightInitType == .plain && layerCount != nil {
            throw ModelError.invalidConfig("num_layers must not be given for weight_init_type plain")
        }
        self.modelType = modelType
        self.weightInitType = weightInitType
        self.mean = mean
        self.std = std
        self.layerCount = layerCount
    }

    static let plainWeights = [
        #"transformer\.h\.\d+\.attn\.(q_attn|k_attn|v_attn|c_proj)\.weight"#, #"transformer\.h\.\w+\.mlp\.(W|V|W_2)\.weight"#,
        #"transformer\.h\.\w+\.mlp\.(c_fc|c_proj)\.weight"#, #"transformer\.wte\.weight"#, #"transformer\.wpe\.weight"#,
        #"transformer\.lm_head\.weight"#,
    ]
    static let plainBiases = [
        #"transformer\.h\.\d+\.attn\.(q_attn|k_attn|v_attn|c_proj)\.bias"#, #"transformer\.h\.\w+\.mlp\.(W|V|W_2)\.bias"#,
        #"transformer\.h\.\w+\.mlp\.(c_fc|c_proj)\.bias"#, #"transformer\.lm_head\.bias"#,
    ]
    static let scaledWeights = [
        #"transformer\.h\.\d+\.attn\.c_proj\.weight"#, #"transformer\.h\.\w+\.mlp\.W_2.weight"#,
        #"transformer\.h\.\w+\.mlp\.c_proj\.weight"#,
    ]
    static let embeddingWeights = [#"transformer\.wte\.weight"#, #"transformer\.wpe\.weight"#, #"transformer\.lm_head\.weight"#]

    static let cocaWeights = [#"^(?!.*norm)(?!.*ln_).*\.weight$"#]
    static let cocaBiases = [#"^(?!.*norm)(?!.*ln_).*\.bias$"#]

    /// Draws `parameters`' values from `seed`, each through `apply`.
    public func initialize(_ parameters: ParameterStore, seed: UInt64, applying apply: ParameterFill) throws {
        let generator = try Generator(seed: seed)
        let plainStd = std.resolved
        var steps: [(patterns: [String], std: Double?)]
        switch modelType {
        case .gpt2: steps = [(Self.plainWeights, plainStd), (Self.plainBiases, nil)]
        case .coca: steps = [(Self.cocaWeights, plainStd), (Self.cocaBiases, nil), (["vision_queries"], 1), (["text_decoder\\.cls_token"], plainStd)]
        }
        if modelType == .gpt2, weightInitType != .plain, let layers = layerCount {
            steps.append((Self.scaledWeights, plainStd / (2.0 * Double(layers)).squareRoot()))
        }
        if modelType == .gpt2, weightInitType == .scaledEmbed { steps.append((Self.embeddingWeights, 0.4.squareRoot())) }
        try Autograd.noGrad {
            for (patterns, std) in steps {
                let expressions = try patterns.map { try Regex($0) }
                for (name, tensor) in parameters.named where expressions.contains(where: { name.wholeMatch(of: $0) != nil }) {
                    try apply(name, tensor) { target in
                        if let std { try target.normal_(mean: mean, std: std, generator: generator) } else { try target.zero_() }
                    }
                }
            }
        }
    }
}
