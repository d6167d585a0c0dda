import Foundation
import Testing
import Torch

@testable import Models

/// CoCa and the vision transformer beyond the parity goldens: their errors, initialisation and activation
/// checkpointing.
@Suite struct CoCaTests {
    static let keys = CoCa.Keys(images: "images", text: "input_ids", logits: "logits", visionClass: "vision_cls", textClass: "text_cls")

    static func config(activation: FeedForwardActivation = .swiglu) -> CoCaConfig {
        CoCaConfig(
            vision: VisionTransformerConfig(
                imageSize: (16, 16), classCount: nil, layerCount: 2, headCount: 2, embeddingSize: 16, ffnHidden: 32, patchSize: 4,
                patchStride: 4, addsClassToken: false),
            text: CoCaConfig.TextDecoder(
                blockSize: 8, vocabularySize: 40, textLayerCount: 2, multimodalLayerCount: 2, headCount: 2, embeddingSize: 16,
                ffnHidden: 48, activation: activation),
            poolHeadCount: 2, visionQueryCount: 4, poolBias: false, poolEpsilon: 1e-5)
    }

    static func inputs(batch: Int = 2, length: Int = 7, imageSide: Int = 16) throws -> [String: Tensor] {
        let generator = try Generator(seed: 3)
        return [
            "images": try Tensor.randn([batch, 3, imageSide, imageSide], generator: generator),
            "input_ids": try Tensor((0..<(batch * length)).map { Int64($0 * 7 % 40) }, shape: [batch, length]),
        ]
    }

    static func initialized(_ config: CoCaConfig = config()) throws -> CoCa {
        let model = try CoCa(config: config, keys: keys)
        try ComposedInitialization(modelType: .coca, weightInitType: .plain, std: .value(0.02)).initialize(model.parameters, seed: 5)
        return model
    }

    @Test func outputsHaveModalitiesShapes() throws {
        let model = try Self.initialized()
        let outputs = try model.forward(Self.inputs(), training: true)
        #expect(outputs["logits"]?.shape == [2, 7, 40])
        #expect(outputs["vision_cls"]?.shape == [2, 1, 16])
        #expect(outputs["text_cls"]?.shape == [2, 1, 16])
        // Blocks for FSDP and activation checkpointing: vision, then text, then multimodal.
        #expect(model.blockCount == 6)
        #expect(model.blockParameterPrefix(1) == "vision_encoder.blocks.1.")
        #expect(model.blockParameterPrefix(3) == "text_decoder.transformer.h.1.")
        #expect(model.blockParameterPrefix(4) == "multimodal_decoder.transformer.h.0.")
        #expect((0..<6).map(model.blockTypeName) == ["VisionTransformerBlock", "VisionTransformerBlock"] + Array(repeating: "TransformerBlock", count: 4))
    }

    @Test func badInputsNameTheKeyAndTheShapes() throws {
        let model = try Self.initialized()
        func message(_ inputs: [String: Tensor]) -> String {
            do {
                _ = try model.forward(inputs, training: false)
                return "no error"
            } catch { return "\(error)" }
        }
        var inputs = try Self.inputs()
        inputs["images"] = try Tensor.zeros([2, 3, 15, 16])
        #expect(message(inputs).contains("'images' has shape [2, 3, 15, 16]"))
        inputs = try Self.inputs(length: 9)
        #expect(message(inputs).contains("9 tokens exceed text_decoder_config.block_size 8"))
        inputs = try Self.inputs()
        inputs["input_ids"] = try Tensor.zeros([2, 7])
        #expect(message(inputs).contains("'input_ids' must be token ids"))
        inputs["input_ids"] = try Tensor([Int64](repeating: 40, count: 14), shape: [2, 7])
        #expect(message(inputs).contains("outside text_decoder_config.vocab_size 40"))
        inputs["images"] = try Tensor([Int64](repeating: 1, count: 2 * 3 * 16 * 16), shape: [2, 3, 16, 16])
        inputs["input_ids"] = try Self.inputs()["input_ids"]
        #expect(message(inputs).contains("'images' holds"))
        #expect(message(["images": inputs["images"]!]).contains("the batch has no 'input_ids'"))
    }

    @Test func configErrorsNameTheFields() {
        var config = Self.config()
        config.vision.embeddingSize = 32
        #expect(throws: ModelError.invalidConfig(
            "vision_encoder_config.n_embd 32 must equal text_decoder_config.n_embd 16: the multimodal decoder cross-attends to the image tokens"
        )) { try config.validate() }
        config = Self.config()
        config.poolHeadCount = 3
        #expect(throws: ModelError.self) { try config.validate() }
        config = Self.config()
        config.vision.imageSize = (3, 16)
        #expect(throws: ModelError.invalidConfig("img_size 3×16 is smaller than one patch of patch_size 4")) { try config.validate() }
    }

    @Test func initializationDrawsEverythingButTheNorms() throws {
        let model = try Self.initialized(
            CoCaConfig(
                vision: Self.config().vision,
                text: CoCaConfig.TextDecoder(
                    blockSize: 8, vocabularySize: 400, textLayerCount: 1, multimodalLayerCount: 1, headCount: 2, embeddingSize: 16,
                    ffnHidden: 48),
                poolHeadCount: 2, visionQueryCount: 64, poolBias: true, poolEpsilon: 1e-5))
        let p = model.parameters.tensors
        func std(_ name: String) throws -> Double { try p[name]!.detach().variance(correction: 0).sqrt().item(Double.self) }
        #expect(abs(try std("text_decoder.transformer.wte.weight") - 0.02) < 0.002)
        #expect(abs(try std("vision_encoder.embedding_fn.conv.weight") - 0.02) < 0.003)
        // vision_queries from the standard normal, as CoCa's constructor draws them.
        #expect(abs(try std("vision_queries") - 1) < 0.1)
        #expect(try p["multimodal_decoder.transformer.h.0.cross_attn.wq.bias"]!.abs().max().item(Double.self) == 0)
        #expect(try p["attn_pool.ln_1.weight"]!.eq(1).all().item(Bool.self))
        #expect(try p["attn_pool.ln_2.bias"]!.abs().max().item(Double.self) == 0)
        #expect(try p["vision_encoder.blocks.0.norm1.weight"]!.eq(1).all().item(Bool.self))
        #expect(try p["text_decoder.transformer.h.0.ln_1.weight"]!.eq(1).all().item(Bool.self))
        #expect(try std("text_decoder.cls_token") > 0)
    }

    @Test(arguments: [FeedForwardActivation.swiglu, .gelu])
    func activationCheckpointingKeepsGradients(_ activation: FeedForwardActivation) throws {
        let inputs = try Self.inputs()
        func gradients(checkpointed: Set<Int>) throws -> [String: Tensor] {
            let model = try Self.initialized(Self.config(activation: activation))
            model.checkpointedLayers = checkpointed
            let outputs = try model.forward(inputs, training: true)
            func squares(_ key: String) throws -> Tensor { try (outputs[key]! * outputs[key]!).mean() }
            let loss = try squares("logits") + squares("vision_cls") + squares("text_cls")
            try loss.backward()
            return Dictionary(uniqueKeysWithValues: model.parameters.named.map { ($0.name, $0.tensor.grad!) })
        }
        let plain = try gradients(checkpointed: [])
        let recomputed = try gradients(checkpointed: Set(0..<6))
        // The recomputation runs the same kernels on the same values: equal up to the order in which the gradient of a
        // tensor used twice (the image tokens feed every multimodal block) is summed.
        for (name, gradient) in plain {
            let difference = try (gradient - recomputed[name]!).abs().max().item(Double.self)
            let scale = try gradient.abs().max().item(Double.self)
            #expect(difference <= 1e-6 * Swift.max(scale, 1e-3), "\(name): \(difference)")
        }
    }

    @Test func aVisionTransformerWithAHeadClassifies() throws {
        let vit = try VisionTransformer(
            config: VisionTransformerConfig(imageSize: (8, 12), classCount: 5, layerCount: 1, headCount: 2, embeddingSize: 8, ffnHidden: 16, patchSize: 4, patchStride: 4))
        #expect(vit.config.tokenCount == 2 * 3 + 1)
        let scores = try vit.forward(["images": try Tensor.zeros([3, 3, 8, 12])], training: false)["logits"]
        #expect(scores?.shape == [3, 5])
    }
}
