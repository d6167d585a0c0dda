#!/usr/bin/env python3
"""Writes the learning rate PyTorch's schedulers give at every step, for the scheduler tests.

    /tmp/ref/bin/python scripts/make-scheduler-goldens.py Tests/TrainingTests/Golden/schedulers.json
"""
import json
import sys

import torch

schedules = {
    "step_lr": (lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5), {"step_size": 7, "gamma": 0.5}),
    "constant_lr": (lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=0.25, total_iters=9), {"factor": 0.25, "total_iters": 9}),
    "linear_lr": (lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=13),
                  {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 13}),
    "cosine_annealing_lr": (lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=17, eta_min=0.001),
                            {"t_max": 17, "eta_min": 0.001}),
    "onecycle_lr_cos": (lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.6, total_steps=40, pct_start=0.3,
                                                                      anneal_strategy="cos", div_factor=10, final_div_factor=100,
                                                                      cycle_momentum=False),
                        {"max_lr": 0.6, "total_steps": 40, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 10,
                         "final_div_factor": 100}),
    "onecycle_lr_linear": (lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.6, total_steps=40, pct_start=0.25,
                                                                         anneal_strategy="linear", div_factor=25,
                                                                         final_div_factor=1e4, cycle_momentum=False),
                           {"max_lr": 0.6, "total_steps": 40, "pct_start": 0.25, "anneal_strategy": "linear",
                            "div_factor": 25, "final_div_factor": 1e4}),
    # Linear warm-up then cosine annealing, as PyTorch composes them: SequentialLR(LinearLR, CosineAnnealingLR).
    "linear_warmup_cosine_annealing_lr": (
        lambda o: torch.optim.lr_scheduler.SequentialLR(
            o, [torch.optim.lr_scheduler.LinearLR(o, start_factor=0.01 / 0.1, end_factor=1.0, total_iters=8),
                torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30 - 8, eta_min=0.002)], milestones=[8]),
        {"warmup_steps": 8, "total_steps": 30, "initial_lr": 0.01, "final_lr": 0.002}),
}
# One-cycle schedules that also cycle Adam's beta1 (cycle_momentum, PyTorch's default and Modalities 0.5.0's), and a
# run so short that pct_start x total_steps is below 1 (no warm-up phase: PyTorch starts in the annealing phase).
momentum_configs = {
    "onecycle_lr_cos_momentum": {"max_lr": 0.6, "total_steps": 40, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 10,
                                 "final_div_factor": 100, "cycle_momentum": True, "base_momentum": 0.85, "max_momentum": 0.95},
    "onecycle_lr_linear_momentum": {"max_lr": 0.6, "total_steps": 40, "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 25,
                                    "final_div_factor": 1e4, "cycle_momentum": True, "base_momentum": 0.8, "max_momentum": 0.9},
    "onecycle_lr_short": {"max_lr": 1e-3, "total_steps": 8, "pct_start": 0.1, "anneal_strategy": "cos", "div_factor": 10,
                          "final_div_factor": 100, "cycle_momentum": True, "base_momentum": 0.85, "max_momentum": 0.95},
}
momentum_schedules = {name: ((lambda c: lambda o: torch.optim.lr_scheduler.OneCycleLR(o, **c))(config), config)
                      for name, config in momentum_configs.items()}
out = {"base_lr": 0.1, "steps": 40, "torch": torch.__version__, "schedules": {}}


def record(name, make, config, optimizer, steps, momentum):
    scheduler = make(optimizer)
    lrs, beta1s = [], []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        if momentum:
            beta1s.append(optimizer.param_groups[0]["betas"][0])
        optimizer.step()
        scheduler.step()
    out["schedules"][name] = {"config": config, "lrs": lrs, **({"beta1s": beta1s} if momentum else {})}


for name, (make, config) in schedules.items():
    record(name, make, config, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), 40, momentum=False)
for name, (make, config) in momentum_schedules.items():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=0.1, betas=(0.9, 0.95))
    record(name, make, config, optimizer, config["total_steps"], momentum=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
