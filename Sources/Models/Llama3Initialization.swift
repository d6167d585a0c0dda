import Foundation
import Torch

/// Modalities' `model_initialization/gpt2_llama3_like`: TorchTitan's Llama 3 initialisation for GPT2LLM's
/// Llama form (SwiGLU, no biases).
///
/// - q/k/v projections and the SwiGLU gate `W`: truncated normal, std 0.02, bounds ±2;
/// - the attention output `c_proj` and the SwiGLU `V` and `W_2`: std 0.02 / sqrt(2·(layer + 1)) with `depth_init`,
///   else 0.02 / sqrt(2·num_layers), bounds ±2;
/// - the output projection (the LM head; the shared embedding when tied): std 1/sqrt(n_embd), bounds ±3/sqrt(n_embd);
/// - untied token embeddings: normal, std 1;
/// - norms keep their ones. Biases are refused, and so is a model in which some rule matches nothing (not a
///   Llama form).
///
/// Parameters are visited in creation order with one seeded generator (deterministic for a seed).
public struct Llama3Initialization: ModelInitializer {
    public var layerCount: Int
    public var embeddingSize: Int
    public var depthInit: Bool

    public init(layerCount: Int, embeddingSize: Int, depthInit: Bool = true) throws {
        guard layerCount > 0, embeddingSize > 0 else {
            throw ModelError.invalidConfig("num_layers and n_embd must be greater than 0, found \(layerCount) and \(embeddingSize)")
        }
        self.layerCount = layerCount
        self.embeddingSize = embeddingSize
        self.depthInit = depthInit
    }

    enum Rule: CaseIterable {
        case attentionInputs, attentionOutput, gate, projections, outputProjection, embedding

        var pattern: String {
            switch self {
            case .attentionInputs: return #"transformer\.h\.\d+\.attn\.(q_attn|k_attn|v_attn)\.weight"#
            case .attentionOutput: return #"transformer\.h\.\d+\.attn\.c_proj\.weight"#
            case .gate: return #"transformer\.h\.\d+\.mlp\.W\.weight"#
            case .projections: return #"transformer\.h\.\d+\.mlp\.(V|W_2)\.weight"#
            case .outputProjection: return #"transformer\.lm_head\.weight"#
            case .embedding: return #"transformer\.wte\.weight"#
            }
        }
    }

    public func initialize(_ parameters: ParameterStore, seed: UInt64, applying apply: ParameterFill) throws {
        let tied =
            parameters.tensors["transformer.lm_head.weight"].map { head in
                parameters.tensors["transformer.wte.weight"].map { head.isSame(as: $0) } ?? false
            } ?? false
        let generator = try Generator(seed: seed)
        let outputStd = 1 / Double(embeddingSize).squareRoot()
        let expressions = try Rule.allCases.map { ($0, try Regex($0.pattern)) }
        var hits = Set<Rule>()
        try Autograd.noGrad {
            for (name, tensor) in parameters.named {
                if name.hasSuffix("bias") {
                    throw ModelError.invalidConfig("gpt2_llama3_like initialises no biases, but the model has \(name) (set bias: false)")
                }
                guard let rule = expressions.first(where: { name.wholeMatch(of: $0.1) != nil })?.0 else { continue }
                hits.insert(rule)
                func depthStd() throws -> Double {
                    guard depthInit else { return 0.02 / (2 * Double(layerCount)).squareRoot() }
                    guard let match = name.firstMatch(of: /transformer\.h\.(\d+)\./), let layer = Int(match.1) else {
                        throw ModelError.invalidConfig("no layer index in \(name)")
                    }
                    return 0.02 / (2 * Double(layer + 1)).squareRoot()
                }
                try apply(name, tensor) { target in
                    switch rule {
                    case .attentionInputs, .gate:
                        try target.truncatedNormal_(std: 0.02, a: -2, b: 2, generator: generator)
                    case .attentionOutput, .projections:
                        try target.truncatedNormal_(std: try depthStd(), a: -2, b: 2, generator: generator)
                    case .outputProjection:
                        try target.truncatedNormal_(std: outputStd, a: -3 * outputStd, b: 3 * outputStd, generator: generator)
                    case .embedding where tied:
                        // The shared matrix is the output projection too: the small output std keeps the first logits sane.
                        try target.truncatedNormal_(std: outputStd, a: -3 * outputStd, b: 3 * outputStd, generator: generator)
                    case .embedding:
                        try target.normal_(mean: 0, std: 1, generator: generator)
                    }
                }
            }
        }
        var needed = Set(Rule.allCases)
        if tied { needed.remove(.outputProjection) }
        let missing = needed.subtracting(hits)
        guard missing.isEmpty else {
            throw ModelError.invalidConfig(
                "gpt2_llama3_like found no parameter for \(missing.map(\.pattern).sorted().joined(separator: ", ")): the model is not a Llama form (SwiGLU, no biases)"
            )
        }
    }
}
