/// Modalities' `VisionTransformerConfig`: the sizes of a vision transformer (ViT) on its own or as CoCa's image
/// encoder.
public struct VisionTransformerConfig: Sendable, Equatable {
    /// Image height and width (`img_size`: one number for square images, or two).
    public var imageSize: (height: Int, width: Int)
    /// Classes of the classification head (`n_classes`); nil has no head, and the model returns its patch tokens.
    public var classCount: Int?
    public var layerCount: Int
    public var headCount: Int
    public var embeddingSize: Int
    /// Hidden size of each block's MLP (not a config field in Modalities: its blocks always use 3072).
    public var ffnHidden: Int
    public var dropout: Double
    public var patchSize: Int
    public var patchStride: Int
    public var imageChannels: Int
    /// Whether a learned class token goes before the patches (`add_cls_token`).
    public var addsClassToken: Bool
    /// Biases of the MLP and of the head (the attention projections and norms always have them, as in Modalities).
    public var bias: Bool
    public var attentionEngine: AttentionEngine

    public init(
        imageSize: (height: Int, width: Int) = (224, 224), classCount: Int? = 1000, layerCount: Int = 12, headCount: Int = 8,
        embeddingSize: Int = 768, ffnHidden: Int = 3072, dropout: Double = 0, patchSize: Int = 16, patchStride: Int = 16,
        imageChannels: Int = 3, addsClassToken: Bool = true, bias: Bool = true, attentionEngine: AttentionEngine = .manual
    ) {
        self.imageSize = imageSize
        self.classCount = classCount
        self.layerCount = layerCount
        self.headCount = headCount
        self.embeddingSize = embeddingSize
        self.ffnHidden = ffnHidden
        self.dropout = dropout
        self.patchSize = patchSize
        self.patchStride = patchStride
        self.imageChannels = imageChannels
        self.addsClassToken = addsClassToken
        self.bias = bias
        self.attentionEngine = attentionEngine
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.imageSize == rhs.imageSize && lhs.classCount == rhs.classCount && lhs.layerCount == rhs.layerCount
            && lhs.headCount == rhs.headCount && lhs.embeddingSize == rhs.embeddingSize && lhs.ffnHidden == rhs.ffnHidden
            && lhs.dropout == rhs.dropout && lhs.patchSize == rhs.patchSize && lhs.patchStride == rhs.patchStride
            && lhs.imageChannels == rhs.imageChannels && lhs.addsClassToken == rhs.addsClassToken && lhs.bias == rhs.bias
            && lhs.attentionEngine == rhs.attentionEngine
    }

    /// Patches along the height and the width: ⌊(size − patch) / stride⌋ + 1 each, as the convolution makes them.
    public var patchGrid: (rows: Int, columns: Int) {
        ((imageSize.height - patchSize) / patchStride + 1, (imageSize.width - patchSize) / patchStride + 1)
    }

    /// Tokens per image: the patches, and the class token when there is one (the learned positions' count).
    public var tokenCount: Int { patchGrid.rows * patchGrid.columns + (addsClassToken ? 1 : 0) }

    /// Throws naming the field when the sizes cannot make a model.
    public func validate() throws {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw ModelError.invalidConfig(message()) }
        }
        try require(layerCount >= 1 && headCount >= 1 && embeddingSize >= 1 && ffnHidden >= 1, "n_layer, n_head, n_embd must be at least 1")
        try require(
            embeddingSize % headCount == 0, "n_embd \(embeddingSize) is not divisible by n_head \(headCount) (\(embeddingSize) / \(headCount))")
        try require(patchSize >= 1 && patchStride >= 1 && imageChannels >= 1, "patch_size, patch_stride and n_img_channels must be at least 1")
        try require(
            imageSize.height >= patchSize && imageSize.width >= patchSize,
            "img_size \(imageSize.height)×\(imageSize.width) is smaller than one patch of patch_size \(patchSize)")
        try require(classCount.map { $0 >= 1 } ?? true, "n_classes must be at least 1 or null")
        try require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1), found \(dropout)")
    }
}
