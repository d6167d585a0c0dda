import Models
import Torch

/// Which `transformers` class represents a GPT2LLM, and how each of our parameters maps onto its state dict.
///
/// GPT-2 form (learned positions, GELU, LayerNorm, multi-head attention) ↔ `GPT2LMHeadModel`: its `Conv1D`
/// weights are stored transposed and q, k, v share one `c_attn`. Llama form (rotary, SwiGLU, RMSNorm, grouped-query
/// attention) ↔ `LlamaForCausalLM`: names differ, layouts match (both rotate halves of each head).
enum HuggingFaceLayout {
    case gpt2
    case llama

    /// The layout for `config`, or the reason neither class represents it.
    static func of(_ config: GPT2LLMConfig) -> Result<HuggingFaceLayout, InteropError> {
        func refuse(_ reason: String) -> Result<HuggingFaceLayout, InteropError> {
            .failure(.unsupported(path: "model", feature: reason))
        }
        let norms = [config.attentionNorm, config.ffnNorm, config.lmHeadNorm]
        switch config.activation {
        case .gelu, .geluTanh:
            guard config.positionEmbedding == .absolute, config.rotaryBaseFrequency == nil else {
                return refuse("a GELU model without learned positions (GPT2LMHeadModel has learned positions and no rotary embedding)")
            }
            guard norms.allSatisfy({ $0.kind == .layerNorm }) else { return refuse("a GELU model with RMSNorm (GPT2LMHeadModel uses LayerNorm)") }
            guard config.keyValueHeads == config.queryHeads else {
                return refuse("grouped-query attention in a GELU model (GPT2LMHeadModel has one key/value head per query head)")
            }
            guard Set(norms.map(\.epsilon)).count == 1 else { return refuse("norms with different eps (GPT2 has one layer_norm_epsilon)") }
            return .success(.gpt2)
        case .swiglu:
            guard config.positionEmbedding == .none, config.rotaryBaseFrequency != nil else {
                return refuse("a SwiGLU model without rotary positions (LlamaForCausalLM uses RoPE)")
            }
            guard norms.allSatisfy({ $0.kind != .layerNorm && !($0.kind == .rmsNorm && $0.bias) }) else {
                return refuse("a SwiGLU model with LayerNorm or biased RMSNorm (LlamaForCausalLM uses RMSNorm without bias)")
            }
            guard Set(norms.map(\.epsilon)).count == 1 else { return refuse("norms with different eps (Llama has one rms_norm_eps)") }
            return .success(.llama)
        }
    }

    /// `(ours, theirs)` for every tensor that maps one to one (GPT-2's fused/transposed ones are handled apart).
    static func llamaNames(layers: Int, bias: Bool, tied: Bool) -> [(String, String)] {
        var names = [("transformer.wte.weight", "model.embed_tokens.weight")]
        for layer in 0..<layers {
            let ours = "transformer.h.\(layer)"
            let theirs = "model.layers.\(layer)"
            names += [("\(ours).attention_norm.weight", "\(theirs).input_layernorm.weight"),
                      ("\(ours).ffn_norm.weight", "\(theirs).post_attention_layernorm.weight")]
            let linears = [("attn.q_attn", "self_attn.q_proj"), ("attn.k_attn", "self_attn.k_proj"), ("attn.v_attn", "self_attn.v_proj"),
                           ("attn.c_proj", "self_attn.o_proj"), ("mlp.W", "mlp.gate_proj"), ("mlp.V", "mlp.up_proj"), ("mlp.W_2", "mlp.down_proj")]
            for (a, b) in linears {
                names.append(("\(ours).\(a).weight", "\(theirs).\(b).weight"))
                if bias { names.append(("\(ours).\(a).bias", "\(theirs).\(b).bias")) }
            }
        }
        names.append(("transformer.lm_head_norm.weight", "model.norm.weight"))
        if !tied { names.append(("transformer.lm_head.weight", "lm_head.weight")) }
        return names
    }
}
