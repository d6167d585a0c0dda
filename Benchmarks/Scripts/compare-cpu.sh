#!/usr/bin/env bash
# Side-by-side: the same cpu-small training step in plain PyTorch and here, fp32 and bf16, alternating runs in the
# same session. Needs a Python with torch: $MODALITIES_VENV/bin/python, else python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${MODALITIES_VENV:+$MODALITIES_VENV/bin/python}"
python="${python:-python3}"
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "Benchmarks/Scripts/compare-cpu.sh: no Python with torch ($python); set MODALITIES_VENV to compare with PyTorch" >&2
  exit 0
fi
binary=${BINARY:-.build/release/modalities}
threads=$(nproc)
steps=${STEPS:-20}
# The peak our MFU uses (theoretical or best measured GEMM, whichever is higher; once per CPU, thread count and BLAS,
# then cached), so both sides share it.
peak=$("$binary" benchmark train --steps 1 --warmup 0 --threads "$threads" |
  python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["peak_flops"])')
for precision in fp32 bf16; do
  for round in 1 2; do
    theirs=$("$python" Benchmarks/Scripts/pytorch_reference.py --precision $precision --steps "$steps" --threads "$threads" --peak_flops "$peak")
    ours=$("$binary" benchmark train --model cpu-small --precision $precision --steps "$steps" --threads "$threads")
    python3 - "$theirs" "$ours" <<'PY'
import json, sys
theirs, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{ours['precision']}: PyTorch {theirs['tokens_per_second']:.0f} tokens/s ({theirs['step_ms']:.0f} ms/step), "
      f"ours {ours['tokens_per_second']:.0f} tokens/s ({ours['step_ms']:.0f} ms/step: forward {ours['forward_ms']:.0f}, "
      f"backward {ours['backward_ms']:.0f}, optimizer {ours['optimizer_ms']:.0f}), ratio {ours['tokens_per_second'] / theirs['tokens_per_second']:.2f}, "
      f"MFU {ours['mfu']:.3f} vs {theirs['mfu']:.3f}")
PY
  done
done
