import Foundation
import Models
import Torch

/// Builds a GPT2LLM from a Hugging Face model folder (`config.json` + `model.safetensors`): Llama
/// (`LlamaForCausalLM`) checkpoints map one to one onto the Llama form.
public enum HuggingFaceModelImport {
    /// Loads the model in `folder`.
    public static func load(folder: String) throws -> GPT2LLM {
        let configPath = URL(fileURLWithPath: folder).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: configPath),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw InteropError.unreadable(path: configPath, reason: "no readable JSON config")
        }
        guard config["model_type"] as? String == "llama" else {
            throw InteropError.unsupported(path: configPath, feature: "model_type \(config["model_type"] ?? "none") (llama is)")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = config[key] as? Int else { throw InteropError.malformed(path: configPath, reason: "no integer \(key)") }
            return value
        }
        let hidden = try integer("hidden_size")
        let intermediate = try integer("intermediate_size")
        let heads = try integer("num_attention_heads")
        if let headSize = config["head_dim"] as? Int, headSize * heads != hidden {
            throw InteropError.unsupported(path: configPath, feature: "head_dim \(headSize) with \(heads) heads of a \(hidden)-wide model")
        }
        let rope = (config["rope_parameters"] as? [String: Any]) ?? config
        let theta = (rope["rope_theta"] as? Double) ?? (config["rope_theta"] as? Double) ?? 10_000
        if let type = rope["rope_type"] as? String, type != "default" {
            throw InteropError.unsupported(path: configPath, feature: "rope_type \(type)")
        }
        let eps = config["rms_norm_eps"] as? Double ?? 1e-5
        let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm, epsilon: eps, bias: false)
        let tied = config["tie_word_embeddings"] as? Bool ?? false
        // ffn_hidden and the multiple are chosen so that Modalities' SwiGLU rule gives intermediate_size exactly.
        let modelConfig = GPT2LLMConfig(
            vocabularySize: try integer("vocab_size"), sequenceLength: try integer("max_position_embeddings"),
            layerCount: try integer("num_hidden_layers"), queryHeads: heads,
            keyValueHeads: config["num_key_value_heads"] as? Int ?? heads, embeddingSize: hidden,
            ffnHidden: (3 * intermediate + 1) / 2, bias: config["attention_bias"] as? Bool ?? false, positionEmbedding: .none,
            rotaryBaseFrequency: theta, attentionImplementation: .pytorchFlash, activation: .swiglu,
            attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: tied, swigluHiddenMultiple: intermediate)
        guard modelConfig.swigluHidden == intermediate else {
            throw InteropError.unsupported(path: configPath, feature: "intermediate_size \(intermediate)")
        }
        let model = try GPT2LLM(config: modelConfig)
        let weights = try SafeTensorsFile(path: URL(fileURLWithPath: folder).appendingPathComponent("model.safetensors").path)
        for (ours, theirs) in llamaNames(layers: modelConfig.layerCount, tied: tied) {
            try model.parameters.load(ours, from: try weights.tensor(theirs).to(dtype: .float32))
        }
        return model
    }

    /// Our parameter names and the Hugging Face Llama names they come from.
    static func llamaNames(layers: Int, tied: Bool) -> [(String, String)] {
        var names = [("transformer.wte.weight", "model.embed_tokens.weight")]
        for layer in 0..<layers {
            let ours = "transformer.h.\(layer)"
            let theirs = "model.layers.\(layer)"
            names += [("\(ours).attention_norm.weight", "\(theirs).input_layernorm.weight"),
                      ("\(ours).attn.q_attn.weight", "\(theirs).self_attn.q_proj.weight"),
                      ("\(ours).attn.k_attn.weight", "\(theirs).self_attn.k_proj.weight"),
                      ("\(ours).attn.v_attn.weight", "\(theirs).self_attn.v_proj.weight"),
                      ("\(ours).attn.c_proj.weight", "\(theirs).self_attn.o_proj.weight"),
                      ("\(ours).ffn_norm.weight", "\(theirs).post_attention_layernorm.weight"),
                      ("\(ours).mlp.W.weight", "\(theirs).mlp.gate_proj.weight"),
                      ("\(ours).mlp.V.weight", "\(theirs).mlp.up_proj.weight"),
                      ("\(ours).mlp.W_2.weight", "\(theirs).mlp.down_proj.weight")]
        }
        names.append(("transformer.lm_head_norm.weight", "model.norm.weight"))
        if !tied { names.append(("transformer.lm_head.weight", "lm_head.weight")) }
        return names
    }
}
