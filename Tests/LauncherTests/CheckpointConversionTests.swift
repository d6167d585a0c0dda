import Foundation
import Interop
import Launcher
import Models
import Testing
import Torch

/// Modalities' conversion command on a checkpoint Modalities wrote.
@Suite(.serialized) struct CheckpointConversionTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CheckpointingTests/Golden").path

    @Test func aModalitiesCheckpointConvertsToTransformersWithItsLogits() throws {
        let folder = NSTemporaryDirectory() + "convert-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = folder + "/convert.yaml"
        try """
        model_raw:
          component_key: model
          variant_key: gpt2
          config:
            sample_key: input_ids
            prediction_key: logits
            poe_type: NOPE
            sequence_length: 16
            vocab_size: 64
            n_layer: 2
            n_head_q: 4
            n_head_kv: 2
            n_embd: 32
            ffn_hidden: 64
            dropout: 0.0
            bias: false
            enforce_swiglu_hidden_dim_multiple_of: 16
            attention_config:
              qkv_transforms:
                - {type_hint: RotaryTransform, config: {n_embd: 32, n_head: 4, seq_length_dim: -2, base_freq: 10000}}
            attention_implementation: manual
            activation_type: swiglu
            attention_norm_config: {norm_type: pytorch_rms_norm, config: {normalized_shape: 32, eps: 1e-5}}
            ffn_norm_config: {norm_type: pytorch_rms_norm, config: {normalized_shape: 32, eps: 1e-5}}
            lm_head_norm_config: {norm_type: pytorch_rms_norm, config: {normalized_shape: 32, eps: 1e-5}}
            use_weight_tying: false
        checkpointed_model:
          component_key: model
          variant_key: fsdp1_checkpointed
          config:
            checkpoint_loading:
              component_key: checkpoint_loading
              variant_key: dcp
              config: {global_rank: 0}
            checkpoint_path: \(Self.golden)/modalities_dcp
            model: {instance_key: model_raw, pass_type: BY_REFERENCE}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let output = folder + "/hf"
        _ = try CheckpointConversion.convert(configFilePath: config, outputFolder: output, predictionKey: "logits", environment: [:])
        let imported = try HuggingFaceModelImport.load(folder: output)
        let reference =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.golden + "/modalities_dcp.json")))
            as! [String: Any]
        let ids = (reference["ids"] as! [[Int]]).flatMap { $0 }
        let logits = try Autograd.noGrad { try imported(Tensor(ids, shape: [2, 8])).toArray(Float.self) }
        let expected = (reference["logits"] as! [[[Double]]]).flatMap { $0.flatMap { $0 } }
        #expect(zip(logits, expected).map { Swift.abs(Double($0) - $1) }.max()! < 1e-5)
        #expect(throws: LaunchError.self) {
            try CheckpointConversion.convert(configFilePath: config, outputFolder: output, predictionKey: "other", environment: [:])
        }
    }
}
