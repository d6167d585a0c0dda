import Models
import Torch

/// Which `transformers` class represents a GPT2LLM, and how each of our parameters maps onto its state dict.
///
/// GPT-2 form (learned positions, GELU, LayerNorm, multi-head attention) ↔ `GPT2LMHeadModel`: its `Conv1D`
/// weights are stored transposed and q, k, v share one `c_attn`. Llama form (rotary, SwiGLU, RMSNorm, grouped-query
/// attention) ↔ `LlamaForCausalLM`: names differ, layouts match (both rotate halves of each head). The same with
/// LayerNorm instead of RMSNorm (Modalities' getting-started model) ↔ `StableLmForCausalLM` with its whole head
/// dimension rotated (`partial_rotary_factor` 1) and no biases on the projections.
enum HuggingFaceLayout {
    case gpt2
    case llama
    case stableLM

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
            guard norms.allSatisfy({ $0.kind == .layerNorm }) else {
                return refuse("a GELU model with RMSNorm (GPT2LMHeadModel uses LayerNorm)")
            }
            guard config.keyValueHeads == config.queryHeads else {
                return refuse("grouped-query attention in a GELU model (GPT2LMHeadModel has one key/value head per query head)")
            }
            guard Set(norms.map(\.epsilon)).count == 1 else { return refuse("norms with different eps (GPT2 has one layer_norm_epsilon)") }
            return .success(.gpt2)
        case .swiglu:
            guard config.positionEmbedding == .none, config.rotaryBaseFrequency != nil else {
                return refuse("a SwiGLU model without rotary positions (LlamaForCausalLM uses RoPE)")
            }
            if norms.allSatisfy({ $0.kind == .layerNorm }) {
                guard !config.bias else {
                    return refuse("a SwiGLU model with LayerNorm and bias: true (StableLmForCausalLM has no bias on o_proj and the MLP)")
                }
                guard Set(norms.map(\.epsilon)).count == 1 else {
                    return refuse("norms with different eps (StableLM has one layer_norm_eps)")
                }
                return .success(.stableLM)
            }
            guard norms.allSatisfy({ $0.kind != .layerNorm && !($0.kind == .rmsNorm && $0.bias) }) else {
                return refuse(
                    "a SwiGLU model with biased RMSNorm or with LayerNorm and RMSNorm mixed (LlamaForCausalLM uses RMSNorm without bias, StableLmForCausalLM LayerNorm)"
                )
            }
            guard Set(norms.map(\.epsilon)).count == 1 else { return refuse("norms with different eps (Llama has one rms_norm_eps)") }
            return .success(.llama)
        }
    }

    /// `(ours, theirs)` for every tensor that maps one to one (GPT-2's fused/transposed ones are handled apart).
    /// The Llama names serve StableLM too; `normBias` adds the LayerNorms' biases.
    static func llamaNames(layers: Int, bias: Bool, tied: Bool, normBias: Bool = false) -> [(String, String)] {
        var names = [("transformer.wte.weight", "model.embed_tokens.weight")]
        let normParameters = normBias ? ["weight", "bias"] : ["weight"]
        for layer in 0..<layers {
            let ours = "transformer.h.\(layer)"
            let theirs = "model.layers.\(layer)"
            for parameter in normParameters {
                names += [
                    ("\(ours).attention_norm.\(parameter)", "\(theirs).input_layernorm.\(parameter)"),
                    ("\(ours).ffn_norm.\(parameter)", "\(theirs).post_attention_layernorm.\(parameter)"),
                ]
            }
            let linears = [
                ("attn.q_attn", "self_attn.q_proj"), ("attn.k_attn", "self_attn.k_proj"), ("attn.v_attn", "self_attn.v_proj"),
                ("attn.c_proj", "self_attn.o_proj"), ("mlp.W", "mlp.gate_proj"), ("mlp.V", "mlp.up_proj"), ("mlp.W_2", "mlp.down_proj"),
            ]
            for (a, b) in linears {
                names.append(("\(ours).\(a).weight", "\(theirs).\(b).weight"))
                if bias { names.append(("\(ours).\(a).bias", "\(theirs).\(b).bias")) }
            }
        }
        for parameter in normParameters { names.append(("transformer.lm_head_norm.\(parameter)", "model.norm.\(parameter)")) }
        if !tied { names.append(("transformer.lm_head.weight", "lm_head.weight")) }
        return names
    }
}
