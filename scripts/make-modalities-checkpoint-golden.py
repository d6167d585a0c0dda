#!/usr/bin/env python3
"""A checkpoint as Modalities 0.5.0 writes it (PyTorch DCP of {"app": {model, optimizer, lr_scheduler}}) for a tiny
GPT2LLM after two AdamW steps, plus the logits the trained model gives on fixed ids: the Checkpointing tests load
it into our app state and must give the same logits.

    pip install modalities "transformers<5"
    python3 scripts/make-modalities-checkpoint-golden.py Tests/CheckpointingTests/Golden
"""
import json
import os
import sys

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict
from modalities.models.gpt2.gpt2_model import GPT2LLM, AttentionConfig, LayerNormWrapperConfig, PositionTypes, AttentionImplementation
from modalities.models.model import ActivationType

out = sys.argv[1]
torch.manual_seed(0)
norm = LayerNormWrapperConfig(norm_type="pytorch_rms_norm", config={"normalized_shape": 32, "eps": 1e-5})
model = GPT2LLM(sample_key="input_ids", prediction_key="logits", poe_type=PositionTypes.NOPE, sequence_length=16, vocab_size=64, n_layer=2,
                n_head_q=4, n_head_kv=2, n_embd=32, ffn_hidden=64, dropout=0.0, bias=False, activation_type=ActivationType.SWIGLU,
                attention_implementation=AttentionImplementation.MANUAL,
                attention_config=AttentionConfig(qkv_transforms=[{"type_hint": "RotaryTransform",
                                                                  "config": {"n_embd": 32, "n_head": 4, "seq_length_dim": -2, "base_freq": 10000}}]),
                attention_norm_config=norm, ffn_norm_config=norm, lm_head_norm_config=norm, use_weight_tying=False,
                enforce_swiglu_hidden_dim_multiple_of=16)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.5, end_factor=1.0, total_iters=10)
ids = torch.tensor([[3, 17, 42, 5, 60, 8, 23, 11], [9, 1, 33, 47, 2, 58, 14, 30]])
for _ in range(2):
    logits = model({"input_ids": ids[:, :-1]})["logits"]
    torch.nn.functional.cross_entropy(logits.reshape(-1, 64), ids[:, 1:].reshape(-1)).backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
app = {"model": get_model_state_dict(model), "optimizer": get_optimizer_state_dict(model, optimizer),
       "lr_scheduler": scheduler.state_dict()}
dcp.save({"app": app}, checkpoint_id=os.path.join(out, "modalities_dcp"))
with torch.no_grad():
    logits = model({"input_ids": ids})["logits"]
json.dump({"ids": ids.tolist(), "logits": logits.tolist(), "lr": optimizer.param_groups[0]["lr"],
           "parameters": {k: list(v.shape) for k, v in model.state_dict().items()}}, open(os.path.join(out, "modalities_dcp.json"), "w"))
