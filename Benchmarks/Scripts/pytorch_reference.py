#!/usr/bin/env python3
"""The same training step as `modalities benchmark train`, in plain PyTorch: the reference for the side-by-side
tokens/s ratio (issue: performance). Models as in ThroughputBenchmark.Preset:
  cpu-small  GPT-2 form: 4 layers, d 256, 4 heads, vocab 8192, LayerNorm, exact GELU, learned positions, tied; 8 x 256
  gpt2-124m  GPT-2 form: 12 layers, d 768, 12 heads, vocab 50304, tied; 16 x 1024
  llama-1b   Llama form: 16 layers, d 2048, 32 query / 8 kv heads, SwiGLU hidden 8192, RMSNorm, RoPE, no bias, untied,
             vocab 32000; 4 x 2048
AdamW (0.9, 0.95, wd 0.1, fused), clip_grad_norm 1.0, zero_grad(set_to_none=True), one fixed batch, the loss read once.

    python3 Benchmarks/Scripts/pytorch_reference.py --precision fp32 --steps 20 --threads 2
    python3 Benchmarks/Scripts/pytorch_reference.py --model gpt2-124m --device cuda --precision bf16 [--compile]
Prints one JSON line: tokens/s, step time, MFU by the formula 6*(non-embedding params + LM head) + 6*L*T*d.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--model", choices=["cpu-small", "gpt2-124m", "llama-1b"], default="cpu-small")
parser.add_argument("--device", default="cpu")
parser.add_argument("--compile", action="store_true", help="torch.compile the model")
parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--warmup", type=int, default=3)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--peak_flops", type=float, default=0.0)
parser.add_argument("--profile", action="store_true", help="print the 20 operators with the most self CPU time per step to stderr")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
device = torch.device(args.device)
L, d, H, KV, V, B, T, FFN, LLAMA = {
    "cpu-small": (4, 256, 4, 4, 8192, 8, 256, 1024, False),
    "gpt2-124m": (12, 768, 12, 12, 50304, 16, 1024, 3072, False),
    "llama-1b": (16, 2048, 32, 8, 32000, 4, 2048, 8192, True),
}[args.model]


class Block(nn.Module):
    """GPT-2 form: LayerNorm, biases, exact GELU."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc, self.proj = nn.Linear(d, FFN), nn.Linear(FFN, d)

    def forward(self, x, rope=None):
        h = self.ln1(x)
        q, k, v = (t(h).view(B, T, H, d // H).transpose(1, 2) for t in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, d)
        x = x + self.o(y)
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin


class LlamaBlock(nn.Module):
    """Llama form: RMSNorm, RoPE (rotate-half), grouped-query attention, SwiGLU, no biases."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.RMSNorm(d, eps=1e-5), nn.RMSNorm(d, eps=1e-5)
        self.q, self.o = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
        self.k, self.v = nn.Linear(d, d * KV // H, bias=False), nn.Linear(d, d * KV // H, bias=False)
        self.w, self.w3, self.w2 = nn.Linear(d, FFN, bias=False), nn.Linear(d, FFN, bias=False), nn.Linear(FFN, d, bias=False)

    def forward(self, x, rope=None):
        h = self.ln1(x)
        q = self.q(h).view(B, T, H, d // H).transpose(1, 2)
        k, v = (t(h).view(B, T, KV, d // H).transpose(1, 2) for t in (self.k, self.v))
        q, k = rotate(q, *rope), rotate(k, *rope)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).transpose(1, 2).reshape(B, T, d)
        x = x + self.o(y)
        h = self.ln2(x)
        return x + self.w2(F.silu(self.w(h)) * self.w3(h))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, d)
        self.wpe = None if LLAMA else nn.Embedding(T, d)
        self.blocks = nn.ModuleList((LlamaBlock if LLAMA else Block)() for _ in range(L))
        self.ln_f = nn.RMSNorm(d, eps=1e-5) if LLAMA else nn.LayerNorm(d)
        self.head = nn.Linear(d, V, bias=False) if LLAMA else None

    def forward(self, tokens):
        positions = torch.arange(T, device=tokens.device)
        x = self.wte(tokens) if LLAMA else self.wte(tokens) + self.wpe(positions)
        rope = None
        if LLAMA:
            inverse = 1.0 / (10000.0 ** (torch.arange(0, d // H, 2, device=tokens.device, dtype=torch.float32) / (d // H)))
            angles = torch.outer(positions.float(), inverse)
            table = torch.cat([angles, angles], dim=-1)
            rope = (table.cos().to(x.dtype), table.sin().to(x.dtype))
        for block in self.blocks:
            x = block(x, rope)
        return self.head(self.ln_f(x)) if LLAMA else F.linear(self.ln_f(x), self.wte.weight)


model = Model()
for p in model.parameters():
    nn.init.normal_(p, 0, 0.02) if p.dim() > 1 else None
model = model.to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
tokens = torch.randint(0, V, (B, T + 1)).to(device)
inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
forward = torch.compile(model) if args.compile else model


def synchronize():
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step():
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
        logits = forward(inputs)
    loss = F.cross_entropy(logits.float().view(-1, V), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


for _ in range(args.warmup):
    step()
synchronize()
if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats(device)
start = time.perf_counter()
step_seconds = []
for _ in range(args.steps):
    step_start = time.perf_counter()
    loss = step()
    if device.type == "cpu":  # per-step times need no synchronisation on the CPU
        step_seconds.append(time.perf_counter() - step_start)
loss.item()
synchronize()
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
non_embedding = sum(p.numel() for n, p in model.named_parameters()
                    if not n.startswith("wte") and not n.startswith("wpe") and not n.startswith("head"))
flops_per_token = 6 * (non_embedding + V * d) + 6 * L * T * d
tokens_per_second = B * T / seconds
record = {"implementation": f"PyTorch {torch.__version__}" + (" compiled" if args.compile else ""), "model": args.model,
          "device": str(device), "precision": args.precision, "threads": args.threads, "step_ms": seconds * 1000,
          "tokens_per_second": tokens_per_second, "loss": loss.item(),
          "mfu": tokens_per_second * flops_per_token / args.peak_flops if args.peak_flops > 0 else None}
if step_seconds:
    # The median step: steadier than the mean on a shared machine, where a neighbour's burst stretches a few steps.
    record["step_ms_median"] = statistics.median(step_seconds) * 1000
if device.type == "cuda":
    record["peak_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
print(json.dumps(record))
