#!/usr/bin/env python3
"""PyTorch checkpoints for the reader tests: a torch.save state dict (float32/bf16/int64 tensors, a transposed view
sharing its storage, a parameter, nested optimizer state with plain numbers) and the same tensors as safetensors,
the reference they must equal.

    pip install torch safetensors
    python3 scripts/make-torch-checkpoint-goldens.py Tests/InteropTests/Golden/torch
"""
import collections
import os
import sys

import torch
from safetensors.torch import save_file

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
base = torch.randn(4, 6)
model = collections.OrderedDict()
model["transformer.wte.weight"] = torch.nn.Parameter(torch.randn(8, 4))
model["transformer.h.0.attn.q_attn.weight"] = base
model["transformer.h.0.attn.k_attn.weight"] = base.t()          # a view of the same storage
model["transformer.h.0.ffn_norm.weight"] = torch.randn(5).to(torch.bfloat16)
model["positions"] = torch.arange(7)
model["scalar"] = torch.tensor(2.5)
optimizer = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(3)}},
             "param_groups": [{"lr": 0.001, "betas": (0.9, 0.95), "weight_decay": 0.1, "params": [0]}]}
torch.save({"model": model, "optimizer": optimizer}, os.path.join(out, "state.pt"))
flat = {"model." + k: v.detach().contiguous() for k, v in model.items()}
flat["optimizer.state.0.step"] = optimizer["state"][0]["step"]
flat["optimizer.state.0.exp_avg"] = optimizer["state"][0]["exp_avg"]
save_file(flat, os.path.join(out, "state.reference.safetensors"))

# A PyTorch distributed checkpoint (DCP) folder as Modalities writes its app state: {"app": {model, optimizer,
# lr_scheduler}}, with the tensors it must give by fully qualified name.
import torch.distributed.checkpoint as dcp

app = {"model": {k: v.detach().contiguous() for k, v in model.items()},
       "optimizer": {"state": {"transformer.wte.weight": {"step": torch.tensor(3.0), "exp_avg": torch.randn(8, 4),
                                                          "exp_avg_sq": torch.rand(8, 4)}},
                     "param_groups": [{"lr": 0.001, "params": ["transformer.wte.weight"]}]},
       "lr_scheduler": {"last_epoch": 3, "base_lrs": [0.001]}}
dcp.save({"app": app}, checkpoint_id=os.path.join(out, "dcp"))
reference = {"app.model." + k: v for k, v in app["model"].items()}
for k, v in app["optimizer"]["state"]["transformer.wte.weight"].items():
    reference["app.optimizer.state.transformer.wte.weight." + k] = v
save_file(reference, os.path.join(out, "dcp.reference.safetensors"))
