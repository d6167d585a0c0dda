/// What the planner needs to know of a GPT-style model (Modalities' GPT2LLM in its GPT-2 and Llama forms): its
/// shape, from which parameters, FLOPs and activation sizes follow.
public struct ModelShape: Sendable, Equatable {
    public var layerCount: Int
    public var embeddingSize: Int
    public var queryHeads: Int
    public var keyValueHeads: Int
    /// The feed-forward hidden size as built (for SwiGLU the adjusted size, not `ffn_hidden`).
    public var feedForwardHidden: Int
    /// SwiGLU: three feed-forward matrices instead of two.
    public var gatedFeedForward: Bool
    public var vocabularySize: Int
    public var sequenceLength: Int
    /// Linear layers with biases.
    public var bias: Bool
    /// Learned position embeddings (`poe_type: ABSOLUTE`).
    public var learnedPositions: Bool
    /// The LM head shares the token embedding's weight.
    public var weightTying: Bool
    /// Parameters of one normalisation layer (its weight, plus a bias where it has one).
    public var normParameters: Int

    public init(
        layerCount: Int, embeddingSize: Int, queryHeads: Int, keyValueHeads: Int, feedForwardHidden: Int,
        gatedFeedForward: Bool, vocabularySize: Int, sequenceLength: Int, bias: Bool = false, learnedPositions: Bool = false,
        weightTying: Bool = false, normParameters: Int? = nil
    ) {
        self.layerCount = layerCount
        self.embeddingSize = embeddingSize
        self.queryHeads = queryHeads
        self.keyValueHeads = keyValueHeads
        self.feedForwardHidden = feedForwardHidden
        self.gatedFeedForward = gatedFeedForward
        self.vocabularySize = vocabularySize
        self.sequenceLength = sequenceLength
        self.bias = bias
        self.learnedPositions = learnedPositions
        self.weightTying = weightTying
        self.normParameters = normParameters ?? embeddingSize
    }

    var keyValueSize: Int { embeddingSize / queryHeads * keyValueHeads }

    /// Parameters of one transformer block: attention (q, k, v, output), feed-forward, two norms.
    public var blockParameterCount: Int {
        let d = embeddingSize
        let attention = d * d + 2 * d * keyValueSize + d * d + (bias ? 2 * d + 2 * keyValueSize : 0)
        let matrices = gatedFeedForward ? 3 : 2
        let feedForward = matrices * d * feedForwardHidden + (bias ? (matrices - 1) * feedForwardHidden + d : 0)
        return attention + feedForward + 2 * normParameters
    }

    /// Parameters outside the blocks: token (and position) embeddings, the final norm, the LM head unless tied.
    public var embeddingParameterCount: Int {
        vocabularySize * embeddingSize + (learnedPositions ? sequenceLength * embeddingSize : 0) + normParameters
            + (weightTying ? 0 : vocabularySize * embeddingSize)
    }

    /// Every parameter, as `Model.parameterCount` counts them (a tied weight once).
    public var parameterCount: Int { layerCount * blockParameterCount + embeddingParameterCount }

    /// FLOPs per token in Modalities' MFU formula (`mfu_calculator/gpt2`): 6·N + 12·L·T·d.
    public var mfuFlopsPerToken: Double {
        6 * Double(parameterCount) + 12 * Double(layerCount) * Double(sequenceLength) * Double(embeddingSize)
    }

    /// FLOPs one training token executes: forward and backward of every matrix product (the LM head included, the
    /// embedding lookup excluded) and of attention, plus the forward again for recomputed blocks.
    /// - Parameter recomputedFraction: the share of blocks whose forward runs twice (activation checkpointing).
    public func executedFlopsPerToken(recomputedFraction: Double = 0) -> Double {
        let d = Double(embeddingSize)
        let matrices = Double(layerCount * blockParameterCount) + Double(vocabularySize) * d
        let attention = 2 * Double(layerCount) * Double(sequenceLength) * d  // QKᵀ and PV, causal half counted whole
        let forward = 2 * matrices + 2 * attention
        let blockForward = 2 * Double(layerCount * blockParameterCount) + 2 * attention
        return 3 * forward + recomputedFraction * blockForward
    }
}
