/// Modalities' `CoCaConfig`: a vision transformer, a causal text decoder and a multimodal decoder, joined by
/// attention pooling of the image tokens.
public struct CoCaConfig: Sendable, Equatable {
    /// Modalities' `TextDecoderConfig`: the text decoder's and the multimodal decoder's sizes.
    public struct TextDecoder: Sendable, Equatable {
        /// Tokens per text sample (the positions; the text decoder has one more, for its class token).
        public var blockSize: Int
        public var vocabularySize: Int
        /// Causal text-only blocks (`n_layer_text`).
        public var textLayerCount: Int
        /// Blocks that also cross-attend to the image tokens (`n_layer_multimodal_text`).
        public var multimodalLayerCount: Int
        public var headCount: Int
        public var embeddingSize: Int
        public var ffnHidden: Int
        public var dropout: Double
        /// Biases of the linear layers and the norms.
        public var bias: Bool
        public var activation: FeedForwardActivation
        public var epsilon: Double
        public var attentionEngine: AttentionEngine

        public init(
            blockSize: Int, vocabularySize: Int, textLayerCount: Int, multimodalLayerCount: Int, headCount: Int,
            embeddingSize: Int, ffnHidden: Int, dropout: Double = 0, bias: Bool = true, activation: FeedForwardActivation = .swiglu,
            epsilon: Double = 1e-5, attentionEngine: AttentionEngine = .manual
        ) {
            self.blockSize = blockSize
            self.vocabularySize = vocabularySize
            self.textLayerCount = textLayerCount
            self.multimodalLayerCount = multimodalLayerCount
            self.headCount = headCount
            self.embeddingSize = embeddingSize
            self.ffnHidden = ffnHidden
            self.dropout = dropout
            self.bias = bias
            self.activation = activation
            self.epsilon = epsilon
            self.attentionEngine = attentionEngine
        }
    }

    public var vision: VisionTransformerConfig
    public var text: TextDecoder
    /// Heads of the attention pooling (`n_pool_head`).
    public var poolHeadCount: Int
    /// Learned queries that pool the image tokens for the multimodal decoder (`n_vision_queries`); one more query
    /// gives the contrastive image embedding.
    public var visionQueryCount: Int
    /// Biases of the pooling's norms (`bias_attn_pool`).
    public var poolBias: Bool
    /// Epsilon of the pooling's norms (`epsilon_attn_pool`).
    public var poolEpsilon: Double

    public init(
        vision: VisionTransformerConfig, text: TextDecoder, poolHeadCount: Int, visionQueryCount: Int, poolBias: Bool,
        poolEpsilon: Double
    ) {
        self.vision = vision
        self.text = text
        self.poolHeadCount = poolHeadCount
        self.visionQueryCount = visionQueryCount
        self.poolBias = poolBias
        self.poolEpsilon = poolEpsilon
    }

    /// Throws naming the fields and numbers when the sizes cannot make a model.
    public func validate() throws {
        try vision.validate()
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw ModelError.invalidConfig(message()) }
        }
        let t = text
        try require(
            t.blockSize >= 1 && t.vocabularySize >= 1 && t.textLayerCount >= 1 && t.multimodalLayerCount >= 1 && t.headCount >= 1
                && t.embeddingSize >= 1 && t.ffnHidden >= 1,
            "text_decoder_config: block_size, vocab_size, n_layer_text, n_layer_multimodal_text, n_head, n_embd and ffn_hidden must be at least 1"
        )
        try require(
            t.embeddingSize % t.headCount == 0,
            "text_decoder_config: n_embd \(t.embeddingSize) is not divisible by n_head \(t.headCount)")
        // The multimodal decoder's cross-attention projects the image tokens with n_embd × n_embd matrices.
        try require(
            vision.embeddingSize == t.embeddingSize,
            "vision_encoder_config.n_embd \(vision.embeddingSize) must equal text_decoder_config.n_embd \(t.embeddingSize): the multimodal decoder cross-attends to the image tokens"
        )
        try require(
            poolHeadCount >= 1 && vision.embeddingSize % poolHeadCount == 0,
            "n_pool_head \(poolHeadCount) must divide vision_encoder_config.n_embd \(vision.embeddingSize)")
        try require(visionQueryCount >= 1, "n_vision_queries must be at least 1")
        try require(t.dropout >= 0 && t.dropout < 1, "text_decoder_config.dropout must be in [0, 1), found \(t.dropout)")
        try require(t.epsilon >= 0 && poolEpsilon >= 0, "epsilon and epsilon_attn_pool must not be negative")
    }
}
