#!/usr/bin/env python3
"""The same training step as `modalities benchmark train`, in plain PyTorch: the reference for the side-by-side
tokens/s ratio (issue: performance). GPT-2 form `cpu-small` (4 layers, d 256, 4 heads, vocab 8192, LayerNorm,
exact GELU, learned positions, tied head), AdamW (0.9, 0.95, wd 0.1), clip_grad_norm 1.0,
zero_grad(set_to_none=True), one fixed batch of 8 x 256 tokens, the same thread count.

    python3 bench/pytorch_reference.py --precision fp32 --steps 20 --threads 2
Prints one JSON line: tokens/s, step time, MFU by the formula 6*(non-embedding params + LM head) + 6*L*T*d.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--warmup", type=int, default=3)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--peak_flops", type=float, default=0.0)
parser.add_argument("--profile", action="store_true", help="print the 20 operators with the most self CPU time per step to stderr")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
L, d, H, V, B, T = 4, 256, 4, 8192, 8, 256


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        h = self.ln1(x)
        q, k, v = (t(h).view(B, T, H, d // H).transpose(1, 2) for t in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, d)
        x = x + self.o(y)
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, d), nn.Embedding(T, d)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, tokens):
        x = self.wte(tokens) + self.wpe(torch.arange(T))
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)


model = Model()
for p in model.parameters():
    nn.init.normal_(p, 0, 0.02) if p.dim() > 1 else None
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
tokens = torch.randint(0, V, (B, T + 1))
inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()


def step():
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
        logits = model(inputs)
    loss = F.cross_entropy(logits.float().view(-1, V), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


for _ in range(args.warmup):
    step()
start = time.perf_counter()
for _ in range(args.steps):
    loss = step()
loss.item()
seconds = (time.perf_counter() - start) / args.steps
if args.profile:
    import sys
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(args.steps):
            step()
    averages = sorted(profiler.key_averages(), key=lambda event: event.self_cpu_time_total, reverse=True)
    total = sum(event.self_cpu_time_total for event in averages)
    print(f"{'operator (self time)':52} {'calls':>8} {'ms/step':>10} {'share':>7}", file=sys.stderr)
    for event in averages[:20]:
        print(f"{event.key[:52]:52} {event.count // args.steps:8d} {event.self_cpu_time_total / 1000 / args.steps:10.2f} "
              f"{event.self_cpu_time_total / total * 100:6.1f}%", file=sys.stderr)
    print(f"{'all operators':52} {'':8} {total / 1000 / args.steps:10.2f} {100.0:6.1f}%", file=sys.stderr)
non_embedding = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("wte") and not n.startswith("wpe"))
flops_per_token = 6 * (non_embedding + V * d) + 6 * L * T * d
tokens_per_second = B * T / seconds
print(json.dumps({"implementation": f"PyTorch {torch.__version__}", "precision": args.precision, "threads": args.threads,
                  "step_ms": seconds * 1000, "tokens_per_second": tokens_per_second,
                  "mfu": tokens_per_second * flops_per_token / args.peak_flops if args.peak_flops > 0 else None}))
