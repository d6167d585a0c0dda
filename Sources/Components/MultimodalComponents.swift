import Config
import DataLoading
import Models
import Tokenizers

/// Modalities' `AttentionConfig`.
struct AttentionEngineConfig: DeclaredConfig {
    enum EngineType: String, ConfigEnum { case default_attention, pytorch_flash_attention }
    @Field("attention_engine_type") var engineType: EngineType

    var engine: AttentionEngine { engineType == .default_attention ? .manual : .pytorchFlash }
}

/// `img_size`: one number for square images, or `[height, width]`.
struct ImageSizeField: Decodable {
    var height: Int
    var width: Int

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if decoder.configValueIsList != true {
            let side = try container.decode(Int.self)
            (height, width) = (side, side)
        } else {
            let sides = try container.decode([Int].self)
            guard sides.count == 2 else { throw ConfigValueError("img_size must be one number or [height, width], found \(sides)") }
            (height, width) = (sides[0], sides[1])
        }
        guard height >= 1, width >= 1 else { throw ConfigValueError("img_size must be positive, found \(height)×\(width)") }
    }
}

/// Modalities' `VisionTransformerConfig`, with its defaults.
struct VisionTransformerFields: DeclaredConfig {
    @Field("sample_key") var sampleKey: String
    @Field("prediction_key") var predictionKey: String
    @Field("img_size") var imageSize: ImageSizeField? = nil
    /// Null (or absent) has no classification head; CoCa needs it so.
    @Field("n_classes") var classCount: PositiveInt?
    @Field("n_layer") var layerCount = 12
    @Field("attention_config") var attention: AttentionEngineConfig? = nil
    @Field("n_head") var headCount = 8
    @Field("n_embd") var embeddingSize = 768
    @Field("dropout") var dropout = 0.0
    @Field("patch_size") var patchSize = 16
    @Field("patch_stride") var patchStride = 16
    @Field("n_img_channels") var imageChannels = 3
    @Field("add_cls_token") var addClassToken = true
    @Field("bias") var bias = true

    var config: VisionTransformerConfig {
        VisionTransformerConfig(
            imageSize: imageSize.map { ($0.height, $0.width) } ?? (224, 224),
            classCount: classCount?.value,
            layerCount: layerCount, headCount: headCount, embeddingSize: embeddingSize, dropout: dropout, patchSize: patchSize,
            patchStride: patchStride, imageChannels: imageChannels, addsClassToken: addClassToken, bias: bias,
            attentionEngine: attention?.engine ?? .manual)
    }

    func validate() throws {
        do { try config.validate() } catch let error as ModelError { throw ConfigValueError(error.description) }
    }
}

/// Modalities' `TextDecoderConfig`.
struct TextDecoderFields: DeclaredConfig {
    enum Activation: String, ConfigEnum { case gelu, swiglu }
    @Field("sample_key") var sampleKey: String
    @Field("prediction_key") var predictionKey: String
    @Field("block_size") var blockSize: PositiveInt
    @Field("vocab_size") var vocabularySize: PositiveInt
    @Field("n_layer_text") var textLayerCount: PositiveInt
    @Field("n_layer_multimodal_text") var multimodalLayerCount: PositiveInt
    @Field("attention_config") var attention: AttentionEngineConfig
    @Field("n_head") var headCount: PositiveInt
    @Field("ffn_hidden") var ffnHidden: PositiveInt
    @Field("n_embd") var embeddingSize: PositiveInt
    @Field("dropout") var dropout: Double
    @Field("bias") var bias: Bool
    @Field("activation") var activation: Activation
    @Field("epsilon") var epsilon: Double

    var config: CoCaConfig.TextDecoder {
        CoCaConfig.TextDecoder(
            blockSize: blockSize.value, vocabularySize: vocabularySize.value, textLayerCount: textLayerCount.value,
            multimodalLayerCount: multimodalLayerCount.value, headCount: headCount.value, embeddingSize: embeddingSize.value,
            ffnHidden: ffnHidden.value, dropout: dropout, bias: bias, activation: activation == .gelu ? .gelu : .swiglu,
            epsilon: epsilon, attentionEngine: attention.engine)
    }
}

/// Modalities' `CoCaConfig`.
struct CoCaModelConfig: DeclaredConfig {
    @Field("prediction_key") var predictionKey = "logits"
    @Field("vision_embd_prediction_key") var visionEmbeddingKey: String
    @Field("text_embd_prediction_key") var textEmbeddingKey: String
    @Field("vision_cls_prediction_key") var visionClassKey: String
    @Field("text_cls_prediction_key") var textClassKey: String
    @Field("vision_encoder_config") var vision: VisionTransformerFields
    @Field("text_decoder_config") var text: TextDecoderFields
    @Field("n_pool_head") var poolHeadCount: PositiveInt
    @Field("n_vision_queries") var visionQueryCount: PositiveInt
    @Field("bias_attn_pool") var poolBias: Bool
    @Field("epsilon_attn_pool") var poolEpsilon: Double
    @Field("seed") var seed: Int? = nil

    var config: CoCaConfig {
        CoCaConfig(
            vision: vision.config, text: text.config, poolHeadCount: poolHeadCount.value, visionQueryCount: visionQueryCount.value,
            poolBias: poolBias, poolEpsilon: poolEpsilon)
    }

    func validate() throws {
        do { try config.validate() } catch let error as ModelError { throw ConfigValueError(error.description) }
        // The pooling attends to the image tokens; a classification head would hand it class scores instead.
        if let classes = vision.classCount {
            throw ConfigValueError(
                "vision_encoder_config.n_classes is \(classes.value), but CoCa pools the vision encoder's image tokens: set n_classes: null")
        }
        // CoCa reads the vision encoder's output under its own prediction key.
        guard vision.predictionKey == visionEmbeddingKey else {
            throw ConfigValueError(
                "vision_encoder_config.prediction_key '\(vision.predictionKey)' must equal vision_embd_prediction_key '\(visionEmbeddingKey)'")
        }
    }
}

/// Modalities' `CoCaCollateFnConfig`.
struct CoCaCollatorConfig: DeclaredConfig {
    @Field("sample_keys") var sampleKeys: [String]
    @Field("target_keys") var targetKeys: [String]
    @Field("text_sample_key") var textSampleKey: String
    @Field("text_target_key") var textTargetKey: String

    func validate() throws {
        do {
            _ = try CoCaCollator(sampleKeys: sampleKeys, targetKeys: targetKeys, textSampleKey: textSampleKey, textTargetKey: textTargetKey)
        } catch let error as DatasetError {
            throw ConfigValueError(error.description)
        }
    }
}

/// Our `dataset/image_caption_jsonl` (Modalities has no image dataset in main).
struct ImageCaptionDatasetConfig: DeclaredConfig {
    @Field("raw_data_path") var rawDataPath: String
    @Field("image_field") var imageField = "image"
    @Field("caption_field") var captionField = "text"
    @Field("image_key") var imageKey = "images"
    @Field("text_key") var textKey = "input_ids"
    @Field("tokenizer") var tokenizer: ComponentSlot<any Tokenizer>
    @Field("eod_token") var endOfDocumentToken: String
    @Field("sequence_length") var sequenceLength: PositiveInt
    @Field("image_size") var imageSize: ImageSizeField
    @Field("mean") var mean = [0.485, 0.456, 0.406]
    @Field("std") var std = [0.229, 0.224, 0.225]

    func validate() throws {
        do { try RGBImage.checkNormalization(mean: mean, std: std) } catch let error as DatasetError { throw ConfigValueError(error.description) }
        guard sequenceLength.value >= 2 else { throw ConfigValueError("sequence_length must be at least 2 (the collator shifts by one)") }
    }
}

extension ComponentRegistry {
    /// CoCa, its collator and the image dataset.
    func registerMultimodalComponents() {
        register(
            "model", "coca",
            summary: "Modalities' CoCa: vision transformer, attention pooling, causal text decoder and multimodal decoder (captioning logits, contrastive embeddings)",
            config: CoCaModelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            try CoCa(
                config: config.config,
                keys: CoCa.Keys(
                    images: config.vision.sampleKey, text: config.text.sampleKey, logits: config.predictionKey,
                    visionClass: config.visionClassKey, textClass: config.textClassKey),
                seed: UInt64(bitPattern: Int64(config.seed ?? 0)), device: context.run.device)
        }
        register(
            "dataset", "image_caption_jsonl",
            summary: "ours: PNG/JPEG images with captions listed in a JSONL file, resized, normalised and tokenized",
            config: ImageCaptionDatasetConfig.self, produces: [(any Dataset).self]
        ) { config, context -> any Dataset in
            do {
                return try ImageCaptionDataset(
                    jsonlPath: config.rawDataPath, imageField: config.imageField, captionField: config.captionField,
                    imageKey: config.imageKey, textKey: config.textKey, tokenizer: try context.build(config.tokenizer),
                    endOfDocumentToken: config.endOfDocumentToken, sequenceLength: config.sequenceLength.value,
                    imageSize: (config.imageSize.height, config.imageSize.width), mean: config.mean, std: config.std)
            } catch let error as DatasetError {
                throw ConfigValueError(error.description)
            }
        }
        register(
            "collate_fn", "coca_collator",
            summary: "stack images and token ids; the text target is the text shifted by one",
            config: CoCaCollatorConfig.self, produces: [(any Collator).self]
        ) { config, _ -> any Collator in
            do {
                return try CoCaCollator(
                    sampleKeys: config.sampleKeys, targetKeys: config.targetKeys, textSampleKey: config.textSampleKey,
                    textTargetKey: config.textTargetKey)
            } catch let error as DatasetError {
                throw ConfigValueError(error.description)
            }
        }
    }
}
