import Config
import DataLoading
import Foundation
import Models
import Observability
import Testing

@testable import Components

/// `model/coca`, its initialisation and `collate_fn/coca_collator` from YAML, with the problems each reports.
@Suite struct MultimodalComponentTests {
    static func yaml(vision: String = "", text: String = "", model: String = "") -> String {
        """
        model_raw:
          component_key: model
          variant_key: coca
          config:
            prediction_key: logits
            vision_embd_prediction_key: vision_embeddings
            text_embd_prediction_key: text_embeddings
            vision_cls_prediction_key: vision_cls
            text_cls_prediction_key: text_cls
            vision_encoder_config:
              sample_key: images
              prediction_key: vision_embeddings
              img_size: [16, 24]
              n_classes: null
              n_layer: 1
              attention_config: {attention_engine_type: pytorch_flash_attention}
              n_head: 2
              n_embd: 16
              dropout: 0.0
              patch_size: 8
              patch_stride: 8
              n_img_channels: 3
              add_cls_token: false
              bias: true
        \(vision)
            text_decoder_config:
              sample_key: input_ids
              prediction_key: logits
              block_size: 8
              vocab_size: 64
              n_layer_text: 1
              n_layer_multimodal_text: 1
              attention_config: {attention_engine_type: default_attention}
              n_head: 2
              ffn_hidden: 32
              n_embd: 16
              dropout: 0.0
              bias: false
              activation: gelu
              epsilon: 1e-5
        \(text)
            n_pool_head: 2
            n_vision_queries: 3
            bias_attn_pool: false
            epsilon_attn_pool: 1e-5
        \(model)
        model:
          component_key: model
          variant_key: model_initialized
          config:
            model: {instance_key: model_raw, pass_type: BY_REFERENCE}
            model_initializer:
              component_key: model_initialization
              variant_key: composed
              config: {model_type: coca, weight_init_type: plain, mean: 0.0, std: 0.02}
        collate_fn:
          component_key: collate_fn
          variant_key: coca_collator
          config:
            sample_keys: [images, input_ids]
            target_keys: []
            text_sample_key: input_ids
            text_target_key: target_ids
        """
    }

    func graph(_ yaml: String) throws -> ObjectGraph {
        let root = try ConfigInterpolator(environment: ResolverEnvironment(configFilePath: "coca.yaml", variables: [:])).resolve(
            ConfigLoader.parse(yaml, file: "coca.yaml"))
        return ObjectGraph(root: root, registry: .builtIn())
    }

    func problems(_ yaml: String) throws -> String {
        let graph = try graph(yaml)
        do {
            try graph.validate()
            return ""
        } catch let error as ConfigError {
            return error.issues.map(\.description).joined(separator: "\n")
        }
    }

    @Test func theConfigBuildsAnInitialisedCoCaAndItsCollator() throws {
        let graph = try graph(Self.yaml())
        try graph.validate()
        let model = try #require(try graph.build("model", as: (any Model).self) as? CoCa)
        #expect(model.config.vision.imageSize == (16, 24) && model.config.vision.attentionEngine == .pytorchFlash)
        #expect(model.config.text.activation == .gelu && !model.config.text.bias)
        #expect(model.parameters.tensors["text_decoder.transformer.h.0.mlp.fc1.bias"] == nil)
        #expect(try model.parameters.tensors["text_decoder.transformer.wte.weight"]!.abs().max().item(Double.self) > 0)
        let collator = try graph.build("collate_fn", as: (any Collator).self)
        let sample = try Sample(
            ["input_ids": Array(0..<9)], arrays: ["images": RealArray(shape: [3, 16, 24], values: Array(repeating: 0.5, count: 3 * 16 * 24))])
        let batch = try collator.collate([sample, sample])
        let outputs = try model.forward(batch.samples, training: false)
        #expect(outputs["logits"]?.shape == [2, 8, 64])
        #expect(batch.targets["target_ids"]?.shape == [2, 8])
    }

    @Test func problemsNameTheFields() throws {
        #expect(try problems(Self.yaml().replacingOccurrences(of: "n_classes: null", with: "n_classes: 10")).contains("set n_classes: null"))
        #expect(
            try problems(Self.yaml().replacingOccurrences(of: "      n_embd: 16\n      dropout: 0.0\n      bias: false", with: "      n_embd: 32\n      dropout: 0.0\n      bias: false"))
                .contains("vision_encoder_config.n_embd 16 must equal text_decoder_config.n_embd 32"))
        #expect(try problems(Self.yaml().replacingOccurrences(of: "activation: gelu", with: "activation: relu")).contains("activation"))
        #expect(try problems(Self.yaml().replacingOccurrences(of: "target_keys: []", with: "target_keys: [target_ids]")).contains("text_target_key"))
        #expect(
            try problems(Self.yaml().replacingOccurrences(of: "prediction_key: vision_embeddings\n      img_size", with: "prediction_key: other\n      img_size"))
                .contains("must equal vision_embd_prediction_key"))
    }

    @Test func mfuIsNotAvailableForCoCa() throws {
        let graph = try graph(
            Self.yaml() + """

                mfu_calculator:
                  component_key: mfu_calculator
                  variant_key: gpt2
                  config:
                    n_layer: 2
                    sequence_length: 8
                    n_embd: 16
                    world_size: 1
                    wrapped_model: {instance_key: model, pass_type: BY_REFERENCE}
                """)
        try graph.validate()
        let error = #expect(throws: (any Error).self) { try graph.build("mfu_calculator", as: GPT2MFUCalculator.self) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("MFU is not available for model/coca"))
    }
}
