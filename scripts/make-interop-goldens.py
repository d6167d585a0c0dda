#!/usr/bin/env python3
"""Tiny seeded transformers models (GPT2LMHeadModel with gelu_new, LlamaForCausalLM with grouped-query attention
and an untied head, StableLmForCausalLM with LayerNorm, rotary over the whole head and a tied head) saved as
Hugging Face folders, with their logits on fixed ids: the import tests load the folders and must give the same
logits.

    pip install torch "transformers<5" safetensors
    python3 scripts/make-interop-goldens.py Tests/InteropTests/Golden
"""
import json
import os
import sys

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, StableLmConfig, StableLmForCausalLM

out = sys.argv[1]
ids = [[3, 17, 42, 5, 60, 8, 23, 11], [9, 1, 33, 47, 2, 58, 14, 30]]
models = {
    "gpt2": GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4, n_inner=80,
                                       resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)),
    "llama": LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=96, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
                                          rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)),
    "stablelm": StableLmForCausalLM(StableLmConfig(vocab_size=64, hidden_size=32, intermediate_size=96, num_hidden_layers=2,
                                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
                                                   layer_norm_eps=1e-5, rope_theta=10000.0, partial_rotary_factor=1.0,
                                                   tie_word_embeddings=True)),
}
golden = {"transformers": transformers.__version__, "torch": torch.__version__, "ids": ids, "logits": {}}
for name, model in models.items():
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.2)
    model.eval()
    model.save_pretrained(os.path.join(out, name), safe_serialization=True)
    with torch.no_grad():
        golden["logits"][name] = model(torch.tensor(ids)).logits.tolist()
json.dump(golden, open(os.path.join(out, "logits.json"), "w"))
