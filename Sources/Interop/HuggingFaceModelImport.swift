import Foundation
import Models
import Torch

/// Builds a GPT2LLM from a Hugging Face model folder (`config.json` + safetensors, single or sharded):
/// `GPT2LMHeadModel` checkpoints become the GPT-2 form, `LlamaForCausalLM` checkpoints the Llama form.
public enum HuggingFaceModelImport {
    /// Loads the model in `folder`, weights converted to float32.
    public static func load(folder: String, sampleKey: String = "input_ids", predictionKey: String = "logits") throws -> GPT2LLM {
        let configPath = URL(fileURLWithPath: folder).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: configPath),
            let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw InteropError.unreadable(path: configPath, reason: "no readable JSON config")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = config[key] as? Int else { throw InteropError.malformed(path: configPath, reason: "no integer \(key)") }
            return value
        }
        let weights = try SafeTensorsFolder(folder: folder)
        func load(_ model: GPT2LLM, _ ours: String, _ value: Tensor) throws {
            do {
                try model.parameters.load(ours, from: value.to(dtype: .float32))
            } catch let error as ModelError {
                throw InteropError.malformed(path: folder, reason: error.description)
            }
        }
        switch config["model_type"] as? String {
        case "llama":
            let modelConfig = try llamaConfig(config, integer: integer, path: configPath)
            let model = try GPT2LLM(config: modelConfig, sampleKey: sampleKey, predictionKey: predictionKey)
            for (ours, theirs) in HuggingFaceLayout.llamaNames(
                layers: modelConfig.layerCount, bias: modelConfig.bias, tied: modelConfig.weightTying)
            {
                try load(model, ours, try weights.tensor(theirs))
            }
            return model
        case "stablelm":
            let modelConfig = try stableLMConfig(config, integer: integer, path: configPath)
            let model = try GPT2LLM(config: modelConfig, sampleKey: sampleKey, predictionKey: predictionKey)
            for (ours, theirs) in HuggingFaceLayout.llamaNames(
                layers: modelConfig.layerCount, bias: false, tied: modelConfig.weightTying,
                normBias: true)
            {
                try load(model, ours, try weights.tensor(theirs))
            }
            return model
        case "gpt2":
            let modelConfig = try gpt2Config(config, integer: integer, path: configPath, hasLMHead: weights.entry("lm_head.weight") != nil)
            let model = try GPT2LLM(config: modelConfig, sampleKey: sampleKey, predictionKey: predictionKey)
            let d = modelConfig.embeddingSize
            func tensor(_ name: String) throws -> Tensor {
                // Some GPT-2 files (the original upload) name tensors without the `transformer.` prefix.
                if weights.entry(name) != nil { return try weights.tensor(name) }
                return try weights.tensor(String(name.dropFirst("transformer.".count)))
            }
            try load(model, "transformer.wte.weight", try tensor("transformer.wte.weight"))
            try load(model, "transformer.wpe.weight", try tensor("transformer.wpe.weight"))
            for layer in 0..<modelConfig.layerCount {
                let p = "transformer.h.\(layer)"
                try load(model, "\(p).attention_norm.weight", try tensor("\(p).ln_1.weight"))
                try load(model, "\(p).attention_norm.bias", try tensor("\(p).ln_1.bias"))
                let qkv = try tensor("\(p).attn.c_attn.weight").transpose(0, 1)
                let qkvBias = try tensor("\(p).attn.c_attn.bias")
                for (index, name) in ["q_attn", "k_attn", "v_attn"].enumerated() {
                    try load(model, "\(p).attn.\(name).weight", try qkv.narrow(0, start: index * d, length: d))
                    try load(model, "\(p).attn.\(name).bias", try qkvBias.narrow(0, start: index * d, length: d))
                }
                try load(model, "\(p).attn.c_proj.weight", try tensor("\(p).attn.c_proj.weight").transpose(0, 1))
                try load(model, "\(p).attn.c_proj.bias", try tensor("\(p).attn.c_proj.bias"))
                try load(model, "\(p).ffn_norm.weight", try tensor("\(p).ln_2.weight"))
                try load(model, "\(p).ffn_norm.bias", try tensor("\(p).ln_2.bias"))
                try load(model, "\(p).mlp.c_fc.weight", try tensor("\(p).mlp.c_fc.weight").transpose(0, 1))
                try load(model, "\(p).mlp.c_fc.bias", try tensor("\(p).mlp.c_fc.bias"))
                try load(model, "\(p).mlp.c_proj.weight", try tensor("\(p).mlp.c_proj.weight").transpose(0, 1))
                try load(model, "\(p).mlp.c_proj.bias", try tensor("\(p).mlp.c_proj.bias"))
            }
            try load(model, "transformer.lm_head_norm.weight", try tensor("transformer.ln_f.weight"))
            try load(model, "transformer.lm_head_norm.bias", try tensor("transformer.ln_f.bias"))
            if !modelConfig.weightTying { try load(model, "transformer.lm_head.weight", try weights.tensor("lm_head.weight")) }
            return model
        case let other:
            throw InteropError.unsupported(path: configPath, feature: "model_type \(other ?? "none") (gpt2, llama and stablelm are)")
        }
    }

    /// StableLM as far as GPT2LLM represents it: LayerNorm, SwiGLU, rotary over the whole head, sequential residuals,
    /// no biases on the projections.
    static func stableLMConfig(_ config: [String: Any], integer: (String) throws -> Int, path: String) throws -> GPT2LLMConfig {
        if let factor = config["partial_rotary_factor"] as? Double, factor != 1 {
            throw InteropError.unsupported(path: path, feature: "partial_rotary_factor \(factor) (GPT2LLM rotates the whole head)")
        }
        for key in ["use_qkv_bias", "qk_layernorm", "use_parallel_residual"] where config[key] as? Bool == true {
            throw InteropError.unsupported(path: path, feature: "\(key) true")
        }
        if let activation = config["hidden_act"] as? String, activation != "silu" {
            throw InteropError.unsupported(path: path, feature: "hidden_act \(activation) (SwiGLU uses silu)")
        }
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm, epsilon: config["layer_norm_eps"] as? Double ?? 1e-5, bias: true)
        var llamaLike = config
        llamaLike["attention_bias"] = false
        llamaLike["mlp_bias"] = false
        llamaLike["head_dim"] = nil
        var modelConfig = try llamaConfig(llamaLike, integer: integer, path: path)
        modelConfig.attentionNorm = norm
        modelConfig.ffnNorm = norm
        modelConfig.lmHeadNorm = norm
        return modelConfig
    }

    static func llamaConfig(_ config: [String: Any], integer: (String) throws -> Int, path: String) throws -> GPT2LLMConfig {
        let hidden = try integer("hidden_size")
        let intermediate = try integer("intermediate_size")
        let heads = try integer("num_attention_heads")
        if let headSize = config["head_dim"] as? Int, headSize * heads != hidden {
            throw InteropError.unsupported(path: path, feature: "head_dim \(headSize) with \(heads) heads of a \(hidden)-wide model")
        }
        let rope = (config["rope_parameters"] as? [String: Any]) ?? (config["rope_scaling"] as? [String: Any]) ?? config
        let theta = (rope["rope_theta"] as? Double) ?? (config["rope_theta"] as? Double) ?? 10_000
        if let type = (rope["rope_type"] ?? rope["type"]) as? String, type != "default" {
            throw InteropError.unsupported(path: path, feature: "rope_type \(type)")
        }
        let attentionBias = config["attention_bias"] as? Bool ?? false
        let mlpBias = config["mlp_bias"] as? Bool ?? false
        guard attentionBias == mlpBias else {
            throw InteropError.unsupported(
                path: path, feature: "attention_bias \(attentionBias) with mlp_bias \(mlpBias) (one bias switch covers both)")
        }
        let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm, epsilon: config["rms_norm_eps"] as? Double ?? 1e-5, bias: false)
        // ffn_hidden and the multiple are chosen so that Modalities' SwiGLU rule gives intermediate_size exactly.
        let modelConfig = GPT2LLMConfig(
            vocabularySize: try integer("vocab_size"), sequenceLength: try integer("max_position_embeddings"),
            layerCount: try integer("num_hidden_layers"), queryHeads: heads,
            keyValueHeads: config["num_key_value_heads"] as? Int ?? heads, embeddingSize: hidden,
            ffnHidden: (3 * intermediate + 1) / 2, bias: attentionBias, positionEmbedding: .none,
            rotaryBaseFrequency: theta, attentionImplementation: .pytorchFlash, activation: .swiglu,
            attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: config["tie_word_embeddings"] as? Bool ?? false,
            swigluHiddenMultiple: intermediate)
        guard modelConfig.swigluHidden == intermediate else {
            throw InteropError.unsupported(path: path, feature: "intermediate_size \(intermediate)")
        }
        return modelConfig
    }

    static func gpt2Config(_ config: [String: Any], integer: (String) throws -> Int, path: String, hasLMHead: Bool) throws -> GPT2LLMConfig
    {
        let d = try integer("n_embd")
        let activation: GPT2LLMConfig.Activation
        switch config["activation_function"] as? String ?? "gelu_new" {
        case "gelu": activation = .gelu
        case "gelu_new", "gelu_pytorch_tanh": activation = .geluTanh
        case let other: throw InteropError.unsupported(path: path, feature: "activation_function \(other)")
        }
        if config["scale_attn_by_inverse_layer_idx"] as? Bool == true || config["reorder_and_upcast_attn"] as? Bool == true {
            throw InteropError.unsupported(path: path, feature: "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn")
        }
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm, epsilon: config["layer_norm_epsilon"] as? Double ?? 1e-5, bias: true)
        let heads = try integer("n_head")
        // GPT2LMHeadModel ties its head unless the config says otherwise and the file has its own head.
        let tied = (config["tie_word_embeddings"] as? Bool ?? true) || !hasLMHead
        return GPT2LLMConfig(
            vocabularySize: try integer("vocab_size"), sequenceLength: try integer("n_positions"), layerCount: try integer("n_layer"),
            queryHeads: heads, keyValueHeads: heads, embeddingSize: d, ffnHidden: config["n_inner"] as? Int ?? 4 * d, bias: true,
            positionEmbedding: .absolute, attentionImplementation: .pytorchFlash, activation: activation,
            attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: tied)
    }
}
