import Foundation
import Testing
import Torch

@testable import Models

/// A golden from scripts/make-coca-goldens.py: Modalities' config, its weights, the images and token ids, and the
/// outputs Modalities' own VisionTransformer / CoCa computed.
struct GoldenMultimodalModel {
    let config: [String: Any]
    let parameters: [(name: String, shape: [Int], values: [Float])]
    let images: Tensor
    let inputIDs: [[Int]]?
    let outputs: [(key: String, shape: [Int], values: [Float])]

    init(_ name: String) throws {
        let (manifest, floats) = try goldenFiles(name)
        var offset = 0
        func take(_ shape: [Int]) -> [Float] {
            let count = shape.reduce(1, *)
            defer { offset += count }
            return Array(floats[offset..<(offset + count)])
        }
        parameters = (manifest["parameters"] as! [[String: Any]]).map { entry in
            let shape = entry["shape"] as! [Int]
            return (entry["name"] as! String, shape, take(shape))
        }
        let imageShape = manifest["images_shape"] as! [Int]
        images = try Tensor(take(imageShape), shape: imageShape)
        inputIDs = manifest["input_ids"] as? [[Int]]
        outputs = (manifest["outputs"] as! [[String: Any]]).map { entry in
            let shape = entry["shape"] as! [Int]
            return (entry["key"] as! String, shape, take(shape))
        }
        #expect(offset == floats.count, "the golden's blob holds exactly its parameters, images and outputs")
        config = manifest["config"] as! [String: Any]
    }

    static func visionConfig(_ c: [String: Any], ffnHidden: Int? = nil) -> VisionTransformerConfig {
        let size = c["img_size"] as? [Int] ?? [c["img_size"] as! Int, c["img_size"] as! Int]
        let attention = (c["attention_config"] as! [String: String])["attention_engine_type"]!
        return VisionTransformerConfig(
            imageSize: (size[0], size[1]), classCount: c["n_classes"] as? Int, layerCount: c["n_layer"] as! Int,
            headCount: c["n_head"] as! Int, embeddingSize: c["n_embd"] as! Int,
            ffnHidden: ffnHidden ?? c["ffn_hidden"] as? Int ?? 3072, patchSize: c["patch_size"] as! Int,
            patchStride: c["patch_stride"] as! Int, imageChannels: c["n_img_channels"] as! Int,
            addsClassToken: c["add_cls_token"] as! Bool, bias: c["bias"] as! Bool, attentionEngine: AttentionEngine(rawValue: attention)!)
    }

    var cocaConfig: CoCaConfig {
        let t = config["text_decoder_config"] as! [String: Any]
        let attention = (t["attention_config"] as! [String: String])["attention_engine_type"]!
        return CoCaConfig(
            vision: Self.visionConfig(config["vision_encoder_config"] as! [String: Any]),
            text: CoCaConfig.TextDecoder(
                blockSize: t["block_size"] as! Int, vocabularySize: t["vocab_size"] as! Int, textLayerCount: t["n_layer_text"] as! Int,
                multimodalLayerCount: t["n_layer_multimodal_text"] as! Int, headCount: t["n_head"] as! Int,
                embeddingSize: t["n_embd"] as! Int, ffnHidden: t["ffn_hidden"] as! Int, bias: t["bias"] as! Bool,
                activation: FeedForwardActivation(rawValue: t["activation"] as! String)!, epsilon: t["epsilon"] as! Double,
                attentionEngine: AttentionEngine(rawValue: attention)!),
            poolHeadCount: config["n_pool_head"] as! Int, visionQueryCount: config["n_vision_queries"] as! Int,
            poolBias: config["bias_attn_pool"] as! Bool, poolEpsilon: config["epsilon_attn_pool"] as! Double)
    }

    func load(into store: ParameterStore) throws {
        for (name, shape, values) in parameters { try store.load(name, from: Tensor(values, shape: shape)) }
        let ours = store.named.map(\.name)
        let theirs = parameters.map(\.name)
        let firstDifference = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(
            ours.count == theirs.count && firstDifference == nil,
            "the same parameters in Modalities' order; first difference at \(firstDifference.map { "\($0): \(ours[$0]) vs \(theirs[$0])" } ?? "the end")")
    }

    /// Expects `actual` to equal the golden output `key` within 1e-5 (relative for values above 1): the two sides
    /// add the same products in different orders (other BLAS, other libtorch), which moves float32 results by a few
    /// units in the last place.
    func expectOutput(_ key: String, _ actual: Tensor, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try #require(outputs.first { $0.key == key })
        #expect(actual.shape == expected.shape, "\(key) shape", sourceLocation: sourceLocation)
        let values = try actual.contiguous().toArray(Float.self)
        let worst = zip(values, expected.values).map { Swift.abs($0 - $1) / Swift.max(1, Swift.abs($1)) }.max() ?? 0
        #expect(worst < 1e-5, "\(key): largest difference \(worst)", sourceLocation: sourceLocation)
    }
}

@Suite struct CoCaParityTests {
    @Test(arguments: ["vit-head", "vit-tokens", "vit-mean-head"])
    func visionTransformerMatchesModalities(_ name: String) throws {
        let golden = try GoldenMultimodalModel(name)
        let model = try VisionTransformer(config: GoldenMultimodalModel.visionConfig(golden.config))
        try golden.load(into: model.parameters)
        let outputs = try Autograd.noGrad { try model.forward(["images": golden.images], training: false) }
        try golden.expectOutput("logits", try #require(outputs["logits"]))
    }

    @Test(arguments: ["coca-swiglu", "coca-gelu-sdpa"])
    func cocaMatchesModalities(_ name: String) throws {
        let golden = try GoldenMultimodalModel(name)
        let keys = CoCa.Keys(images: "images", text: "input_ids", logits: "logits", visionClass: "vision_cls", textClass: "text_cls")
        let model = try CoCa(config: golden.cocaConfig, keys: keys)
        try golden.load(into: model.parameters)
        // The head is the text decoder's token embedding (weight tying), as in Modalities.
        #expect(model.parameters.tensors["multimodal_decoder.lm_head.weight"]!.isSame(as: model.parameters.tensors["text_decoder.transformer.wte.weight"]!))
        let ids = try #require(golden.inputIDs)
        let tokens = try Tensor(ids.flatMap { $0 }, shape: [ids.count, ids[0].count])
        let outputs = try Autograd.noGrad { try model.forward(["images": golden.images, "input_ids": tokens], training: false) }
        for key in ["logits", "vision_cls", "text_cls"] { try golden.expectOutput(key, try #require(outputs[key])) }
    }
}
