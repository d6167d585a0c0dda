#!/usr/bin/env python3
"""Loads an exported folder with transformers and compares its logits with ours (`modalities model_logits`).

    python3 scripts/check-hf-export.py HF_FOLDER OUR_LOGITS.json 3,17,42,5
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM

folder, logits_path, ids = sys.argv[1], sys.argv[2], [int(i) for i in sys.argv[3].split(",")]
model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
model.eval()
with torch.no_grad():
    theirs = model(torch.tensor([ids])).logits[0]
ours = torch.tensor(json.load(open(logits_path)))
difference = (theirs - ours).abs().max().item()
print(f"{folder}: {type(model).__name__}, max |logit difference| = {difference:.2e}")
sys.exit(0 if difference < 1e-4 else 1)
