/// The part of a GPT2LLM one pipeline stage holds: a contiguous range of its blocks, and the input layers
/// (embeddings, dropout) on the first stage and the output layers (final norm, LM head) on the last, as
/// Modalities' `gpt2_stages_generator` splits it. Parameters keep the whole model's names.
public struct PipelineStageLayout: Sendable, Hashable, CustomStringConvertible {
    /// Key under which a stage that does not hold the input layers receives the previous stage's activations, and
    /// a stage that does not hold the output layers returns its own.
    public static let activationKey = "hidden_states"

    /// The stage's place in the pipeline, 0 for the one holding the input layers.
    public let index: Int
    /// Stages in the whole pipeline (over all ranks).
    public let count: Int
    /// The model's blocks (their indices in `transformer.h`) this stage runs, in order.
    public let layers: Range<Int>
    /// Whether the stage holds `transformer.wte`, `transformer.wpe` and the dropout after them.
    public let holdsInput: Bool
    /// Whether the stage holds `transformer.lm_head_norm` and `transformer.lm_head`.
    public let holdsOutput: Bool

    public init(index: Int, count: Int, layers: Range<Int>, holdsInput: Bool, holdsOutput: Bool) {
        self.index = index
        self.count = count
        self.layers = layers
        self.holdsInput = holdsInput
        self.holdsOutput = holdsOutput
    }

    /// The layout of a stage holding the modules Modalities names by `fqns` (`transformer.wte`, `transformer.h.3`,
    /// `transformer.lm_head`, …).
    ///
    /// - Throws: ``ModelError/invalidConfig(_:)`` for a name that is not one of GPT2LLM's split points, or blocks
    ///   that are not contiguous.
    public init(index: Int, count: Int, fqns: [String]) throws {
        var layers: [Int] = []
        var input = false
        var output = false
        for name in fqns {
            switch name {
            case "transformer.wte", "transformer.wpe", "transformer.drop": input = true
            case "transformer.lm_head_norm", "transformer.lm_head": output = true
            default:
                guard name.hasPrefix("transformer.h."), let layer = Int(name.dropFirst("transformer.h.".count)), layer >= 0 else {
                    throw ModelError.invalidConfig("pipeline stage \(index) names '\(name)', which is not a module GPT2LLM splits at")
                }
                layers.append(layer)
            }
        }
        layers.sort()
        let range = (layers.first ?? 0)..<((layers.last ?? -1) + 1)
        guard range.count == layers.count else {
            throw ModelError.invalidConfig("pipeline stage \(index) holds blocks \(layers), which are not contiguous")
        }
        self.init(index: index, count: count, layers: range, holdsInput: input, holdsOutput: output)
    }

    public var isFirst: Bool { index == 0 }
    public var isLast: Bool { index == count - 1 }

    public var description: String {
        var parts: [String] = []
        if holdsInput { parts.append("embeddings") }
        if !layers.isEmpty {
            parts.append(layers.count == 1 ? "block \(layers.lowerBound)" : "blocks \(layers.lowerBound)-\(layers.upperBound - 1)")
        }
        if holdsOutput { parts.append("head") }
        return "stage \(index) of \(count) (\(parts.isEmpty ? "nothing" : parts.joined(separator: ", ")))"
    }
}
