#!/usr/bin/env bash
# The cpu-small fp32 step with the shim's CPU kernels on and off, beside plain PyTorch when a Python with torch is
# at hand, alternating in rounds; one Markdown table row per round, milliseconds per step (the median step of each
# run: on a shared VM a neighbour's burst stretches a few steps, which moves the mean but not the median):
#   ours                      every kernel (BLIS GEMMs where used, causal attention, padded LM-head rows, fused
#                             cross entropy, allocator)
#   libtorch BLAS             MODALITIES_CPU_BLAS=libtorch (libtorch's MKL GEMMs instead of BLIS's; the same as ours
#                             where BLIS is not used: not installed, or not an AMD CPU)
#   libtorch attention        MODALITIES_CPU_ATTENTION=libtorch (libtorch's flash attention instead of the shim's)
#   neither                   that and MODALITIES_CPU_PADDED_ROWS=0 (logits rows not padded)
# ROUNDS (default 5) and STEPS (default 20) set the length; MODALITIES_VENV picks the Python.
source "$(dirname "$0")/ab-settings.sh"

step_ms() { python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(round(r.get("step_ms_median", r["step_ms"])))' "$("$@")"; }
ours() { step_ms env "$@" "$binary" benchmark train --model cpu-small --precision fp32 --steps "$steps" --threads "$threads"; }

echo "BLAS: $("$binary" benchmark train --model cpu-small --precision fp32 --steps 1 --warmup 0 --threads "$threads" |
  python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["cpu_blas"])')" >&2
echo "| Round | PyTorch | Ours | Ours, libtorch BLAS | Ours, libtorch attention | Ours, neither | PyTorch / ours |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for round in $(seq 1 "$rounds"); do
  theirs="-"
  if "$python" -c "import torch" 2>/dev/null; then
    theirs=$(step_ms "$python" Benchmarks/Scripts/pytorch_reference.py --precision fp32 --steps "$steps" --threads "$threads")
  fi
  all=$(ours)
  blas=$(ours MODALITIES_CPU_BLAS=libtorch)
  attention=$(ours MODALITIES_CPU_ATTENTION=libtorch)
  neither=$(ours MODALITIES_CPU_ATTENTION=libtorch MODALITIES_CPU_PADDED_ROWS=0)
  ratio=$([ "$theirs" = "-" ] && echo "-" || python3 -c "print(f'{$theirs / $all:.2f}')")
  echo "| $round | $theirs | $all | $blas | $attention | $neither | $ratio |"
done
