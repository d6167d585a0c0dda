#!/usr/bin/env python3
"""Writes small fixed-weight models and the logits Hugging Face `transformers` computes for them, for the
parity tests of Sources/Models.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch "transformers<5"
    /tmp/ref/bin/python scripts/make-model-goldens.py Tests/ModelsTests/Golden

For each form (GPT-2: GPT2LMHeadModel with exact GELU; Llama: LlamaForCausalLM with GQA and RoPE) it writes
NAME.json (config, parameter names in Modalities' state-dict naming with shapes, input ids, logits shape,
loss) and NAME.bin (every parameter, then the expected logits, as little-endian float32).
"""
import json
import pathlib
import struct
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
ids = torch.tensor([[5, 17, 3, 42, 8, 0, 63, 21, 9, 30], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])


def write(name, config, parameters, model):
    with torch.no_grad():
        output = model(input_ids=ids, labels=ids)
    logits = output.logits.float()
    blob = bytearray()
    manifest = []
    for key, tensor in parameters:
        tensor = tensor.detach().float().contiguous()
        manifest.append({"name": key, "shape": list(tensor.shape)})
        blob += struct.pack(f"<{tensor.numel()}f", *tensor.flatten().tolist())
    blob += struct.pack(f"<{logits.numel()}f", *logits.flatten().tolist())
    (out / f"{name}.bin").write_bytes(bytes(blob))
    (out / f"{name}.json").write_text(json.dumps({
        "config": config, "parameters": manifest, "input_ids": ids.tolist(),
        "logits_shape": list(logits.shape), "loss": float(output.loss),
    }, indent=1))


def gpt2():
    n_embd, n_head, n_layer, vocab, positions = 32, 4, 2, 64, 16
    model = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=positions, n_embd=n_embd, n_layer=n_layer,
                                       n_head=n_head, activation_function="gelu", resid_pdrop=0.0, embd_pdrop=0.0,
                                       attn_pdrop=0.0, layer_norm_epsilon=1e-5)).eval()
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    state = model.state_dict()
    parameters = [("transformer.wte.weight", state["transformer.wte.weight"]),
                  ("transformer.wpe.weight", state["transformer.wpe.weight"])]
    for layer in range(n_layer):
        prefix = f"transformer.h.{layer}"
        hf = f"transformer.h.{layer}"
        parameters += [(f"{prefix}.attention_norm.weight", state[f"{hf}.ln_1.weight"]),
                       (f"{prefix}.attention_norm.bias", state[f"{hf}.ln_1.bias"])]
        weight = state[f"{hf}.attn.c_attn.weight"].t()  # Conv1D stores (in, out)
        bias = state[f"{hf}.attn.c_attn.bias"]
        for part, name in enumerate(["q_attn", "k_attn", "v_attn"]):
            parameters += [(f"{prefix}.attn.{name}.weight", weight[part * n_embd:(part + 1) * n_embd]),
                           (f"{prefix}.attn.{name}.bias", bias[part * n_embd:(part + 1) * n_embd])]
        parameters += [(f"{prefix}.attn.c_proj.weight", state[f"{hf}.attn.c_proj.weight"].t()),
                       (f"{prefix}.attn.c_proj.bias", state[f"{hf}.attn.c_proj.bias"]),
                       (f"{prefix}.ffn_norm.weight", state[f"{hf}.ln_2.weight"]),
                       (f"{prefix}.ffn_norm.bias", state[f"{hf}.ln_2.bias"]),
                       (f"{prefix}.mlp.c_fc.weight", state[f"{hf}.mlp.c_fc.weight"].t()),
                       (f"{prefix}.mlp.c_fc.bias", state[f"{hf}.mlp.c_fc.bias"]),
                       (f"{prefix}.mlp.c_proj.weight", state[f"{hf}.mlp.c_proj.weight"].t()),
                       (f"{prefix}.mlp.c_proj.bias", state[f"{hf}.mlp.c_proj.bias"])]
    parameters += [("transformer.lm_head_norm.weight", state["transformer.ln_f.weight"]),
                   ("transformer.lm_head_norm.bias", state["transformer.ln_f.bias"])]
    config = {"vocab_size": vocab, "sequence_length": positions, "n_layer": n_layer, "n_head_q": n_head,
              "n_head_kv": n_head, "n_embd": n_embd, "ffn_hidden": 4 * n_embd, "bias": True, "poe_type": "ABSOLUTE",
              "activation_type": "gelu", "norm": "layer_norm", "eps": 1e-5, "use_weight_tying": True}
    write("gpt2", config, parameters, model)


def llama():
    n_embd, n_head, n_kv, n_layer, vocab, hidden = 32, 4, 2, 2, 64, 64
    model = LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=n_embd, intermediate_size=hidden,
                                         num_hidden_layers=n_layer, num_attention_heads=n_head, num_key_value_heads=n_kv,
                                         max_position_embeddings=16, rms_norm_eps=1e-5, rope_theta=10000.0,
                                         tie_word_embeddings=False, attention_bias=False, mlp_bias=False)).eval()
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    state = model.state_dict()
    parameters = [("transformer.wte.weight", state["model.embed_tokens.weight"])]
    for layer in range(n_layer):
        prefix = f"transformer.h.{layer}"
        hf = f"model.layers.{layer}"
        parameters += [(f"{prefix}.attention_norm.weight", state[f"{hf}.input_layernorm.weight"]),
                       (f"{prefix}.attn.q_attn.weight", state[f"{hf}.self_attn.q_proj.weight"]),
                       (f"{prefix}.attn.k_attn.weight", state[f"{hf}.self_attn.k_proj.weight"]),
                       (f"{prefix}.attn.v_attn.weight", state[f"{hf}.self_attn.v_proj.weight"]),
                       (f"{prefix}.attn.c_proj.weight", state[f"{hf}.self_attn.o_proj.weight"]),
                       (f"{prefix}.ffn_norm.weight", state[f"{hf}.post_attention_layernorm.weight"]),
                       (f"{prefix}.mlp.W.weight", state[f"{hf}.mlp.gate_proj.weight"]),
                       (f"{prefix}.mlp.V.weight", state[f"{hf}.mlp.up_proj.weight"]),
                       (f"{prefix}.mlp.W_2.weight", state[f"{hf}.mlp.down_proj.weight"])]
    parameters += [("transformer.lm_head_norm.weight", state["model.norm.weight"]),
                   ("transformer.lm_head.weight", state["lm_head.weight"])]
    # ffn_hidden 96 gives SwiGLU hidden int(2 * 96 / 3) = 64, a multiple of 32.
    config = {"vocab_size": vocab, "sequence_length": 16, "n_layer": n_layer, "n_head_q": n_head, "n_head_kv": n_kv,
              "n_embd": n_embd, "ffn_hidden": 96, "enforce_swiglu_hidden_dim_multiple_of": 32, "bias": False,
              "poe_type": "NOPE", "rotary_base_freq": 10000, "activation_type": "swiglu", "norm": "pytorch_rms_norm",
              "eps": 1e-5, "use_weight_tying": False}
    write("llama", config, parameters, model)


gpt2()
llama()
