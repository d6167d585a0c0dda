import Foundation
import Models
import Torch

/// Writes a GPT2LLM as a Hugging Face `transformers` model folder: `config.json`, `generation_config.json`,
/// (sharded) safetensors and, when given, the tokenizer files.
public enum HuggingFaceExport {
    /// - Parameters:
    ///   - tokenizer: a `tokenizer.json` (its folder's `tokenizer_config.json` and `special_tokens_map.json` come along).
    ///   - endOfText: the id generation stops at, for `generation_config.json`.
    public static func write(
        _ model: GPT2LLM, to folder: String, tokenizer: String? = nil, endOfText: Int? = nil,
        maximumShardBytes: Int = 5_000_000_000
    ) throws {
        try model.parameters.requireAllocated(for: "exporting to Hugging Face")
        let config = model.config
        let layout = try HuggingFaceLayout.of(config).get()
        let tied = config.weightTying
        func parameter(_ name: String) throws -> Tensor {
            guard let tensor = model.parameters.tensors[name] else { throw InteropError.missingTensor(path: "model", name: name) }
            return try tensor.detach().to(dtype: .float32).contiguous()
        }
        var tensors: [(name: String, tensor: Tensor)] = []
        var json: [String: Any] = [
            "vocab_size": config.vocabularySize, "torch_dtype": "float32", "tie_word_embeddings": tied,
            "transformers_version": "4.57.6", "use_cache": true, "initializer_range": 0.02,
        ]
        if let endOfText { json["eos_token_id"] = endOfText; json["bos_token_id"] = endOfText }
        switch layout {
        case .llama:
            for (ours, theirs) in HuggingFaceLayout.llamaNames(layers: config.layerCount, bias: config.bias, tied: tied) {
                tensors.append((theirs, try parameter(ours)))
            }
            json.merge(
                [
                    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": config.embeddingSize,
                    "intermediate_size": config.swigluHidden, "num_hidden_layers": config.layerCount,
                    "num_attention_heads": config.queryHeads, "num_key_value_heads": config.keyValueHeads, "head_dim": config.headSize,
                    "hidden_act": "silu", "max_position_embeddings": config.sequenceLength, "rms_norm_eps": config.attentionNorm.epsilon,
                    "rope_theta": config.rotaryBaseFrequency!, "attention_bias": config.bias, "mlp_bias": config.bias,
                    "attention_dropout": 0.0, "pretraining_tp": 1,
                ] as [String: Any]
            ) { $1 }
        case .stableLM:
            // StableLM's LayerNorms always have a bias: a model whose norms have none exports zeros, which is the same.
            for (ours, theirs) in HuggingFaceLayout.llamaNames(layers: config.layerCount, bias: false, tied: tied, normBias: true) {
                let tensor =
                    model.parameters.tensors[ours] == nil && ours.hasSuffix(".bias")
                    ? try Tensor.zeros([config.embeddingSize]) : try parameter(ours)
                tensors.append((theirs, tensor))
            }
            json.merge(
                [
                    "architectures": ["StableLmForCausalLM"], "model_type": "stablelm", "hidden_size": config.embeddingSize,
                    "intermediate_size": config.swigluHidden, "num_hidden_layers": config.layerCount,
                    "num_attention_heads": config.queryHeads, "num_key_value_heads": config.keyValueHeads,
                    "hidden_act": "silu", "max_position_embeddings": config.sequenceLength,
                    "layer_norm_eps": config.attentionNorm.epsilon, "rope_theta": config.rotaryBaseFrequency!,
                    "partial_rotary_factor": 1.0, "use_qkv_bias": false, "qk_layernorm": false, "use_parallel_residual": false,
                    "hidden_dropout": 0.0, "attention_dropout": 0.0,
                ] as [String: Any]
            ) { $1 }
        case .gpt2:
            let d = config.embeddingSize
            func bias(_ name: String, size: Int) throws -> Tensor {
                model.parameters.tensors[name] == nil ? try Tensor.zeros([size]) : try parameter(name)
            }
            tensors.append(("transformer.wte.weight", try parameter("transformer.wte.weight")))
            tensors.append(("transformer.wpe.weight", try parameter("transformer.wpe.weight")))
            for layer in 0..<config.layerCount {
                let ours = "transformer.h.\(layer)"
                let theirs = "transformer.h.\(layer)"
                tensors.append(("\(theirs).ln_1.weight", try parameter("\(ours).attention_norm.weight")))
                tensors.append(("\(theirs).ln_1.bias", try bias("\(ours).attention_norm.bias", size: d)))
                let qkv = try ["q_attn", "k_attn", "v_attn"].map { try parameter("\(ours).attn.\($0).weight") }
                tensors.append(("\(theirs).attn.c_attn.weight", try Tensor.cat(qkv, dim: 0).transpose(0, 1).contiguous()))
                tensors.append(
                    (
                        "\(theirs).attn.c_attn.bias",
                        try Tensor.cat(["q_attn", "k_attn", "v_attn"].map { try bias("\(ours).attn.\($0).bias", size: d) })
                    ))
                tensors.append(("\(theirs).attn.c_proj.weight", try parameter("\(ours).attn.c_proj.weight").transpose(0, 1).contiguous()))
                tensors.append(("\(theirs).attn.c_proj.bias", try bias("\(ours).attn.c_proj.bias", size: d)))
                tensors.append(("\(theirs).ln_2.weight", try parameter("\(ours).ffn_norm.weight")))
                tensors.append(("\(theirs).ln_2.bias", try bias("\(ours).ffn_norm.bias", size: d)))
                tensors.append(("\(theirs).mlp.c_fc.weight", try parameter("\(ours).mlp.c_fc.weight").transpose(0, 1).contiguous()))
                tensors.append(("\(theirs).mlp.c_fc.bias", try bias("\(ours).mlp.c_fc.bias", size: config.ffnHidden)))
                tensors.append(("\(theirs).mlp.c_proj.weight", try parameter("\(ours).mlp.c_proj.weight").transpose(0, 1).contiguous()))
                tensors.append(("\(theirs).mlp.c_proj.bias", try bias("\(ours).mlp.c_proj.bias", size: d)))
            }
            tensors.append(("transformer.ln_f.weight", try parameter("transformer.lm_head_norm.weight")))
            tensors.append(("transformer.ln_f.bias", try bias("transformer.lm_head_norm.bias", size: d)))
            if !tied { tensors.append(("lm_head.weight", try parameter("transformer.lm_head.weight"))) }
            json.merge(
                [
                    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": d, "n_layer": config.layerCount,
                    "n_head": config.queryHeads, "n_inner": config.ffnHidden, "n_positions": config.sequenceLength,
                    "n_ctx": config.sequenceLength, "activation_function": config.activation == .gelu ? "gelu" : "gelu_new",
                    "layer_norm_epsilon": config.attentionNorm.epsilon, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
                    "scale_attn_weights": true,
                ] as [String: Any]
            ) { $1 }
        }
        try SafeTensorsFolder.write(tensors, to: folder, maximumShardBytes: maximumShardBytes)
        try AtomicFile.write(
            try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]), to: folder + "/config.json")
        var generation: [String: Any] = ["transformers_version": "4.57.6", "_from_model_config": true]
        if let endOfText { generation["eos_token_id"] = endOfText; generation["bos_token_id"] = endOfText }
        try AtomicFile.write(
            try JSONSerialization.data(withJSONObject: generation, options: [.prettyPrinted, .sortedKeys]),
            to: folder + "/generation_config.json")
        if let tokenizer { try copyTokenizer(tokenizer, to: folder) }
    }

    static func copyTokenizer(_ path: String, to folder: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw InteropError.unreadable(path: path, reason: "no such tokenizer")
        }
        let source = isFolder.boolValue ? path : (path as NSString).deletingLastPathComponent
        let tokenizerFile = isFolder.boolValue ? path + "/tokenizer.json" : path
        guard FileManager.default.fileExists(atPath: tokenizerFile) else {
            throw InteropError.unsupported(path: path, feature: "a tokenizer without tokenizer.json (export needs the Hugging Face form)")
        }
        try? FileManager.default.removeItem(atPath: folder + "/tokenizer.json")
        try FileManager.default.copyItem(atPath: tokenizerFile, toPath: folder + "/tokenizer.json")
        var copiedConfig = false
        for name in ["tokenizer_config.json", "special_tokens_map.json"] where FileManager.default.fileExists(atPath: source + "/" + name) {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: folder + "/" + name)
            copiedConfig = copiedConfig || name == "tokenizer_config.json"
        }
        if !copiedConfig {
            let config = ["tokenizer_class": "PreTrainedTokenizerFast"]
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(
                to: URL(fileURLWithPath: folder + "/tokenizer_config.json"))
        }
    }
}
