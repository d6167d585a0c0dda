#!/usr/bin/env bash
# The cpu-small fp32 step with the shim's caching CPU allocator on and off (MODALITIES_CPU_CACHE_BYTES=0: plain
# allocations as libtorch makes them, no huge pages), beside plain PyTorch when a Python with torch is at hand,
# alternating in rounds; prints one Markdown table row per round with ms/step and the process's minor page faults
# (counted by /usr/bin/time, Debian's package `time`; "-" without it).
# ROUNDS (default 5) and STEPS (default 20) set the length; TORCH_ENV (e.g. "THP_MEM_ALLOC_ENABLE=1") is passed
# to the PyTorch runs.
source "$(dirname "$0")/ab-settings.sh"
faults=$(mktemp)
trap 'rm -f "$faults"' EXIT

# Prints "ms/step faults" for one run of the command given.
measure() {
  local json
  if [ -x /usr/bin/time ]; then json=$(/usr/bin/time -f "%R" -o "$faults" "$@"); else json=$("$@"); echo "-" >"$faults"; fi
  echo "$(python3 -c 'import json, sys; print(round(json.loads(sys.argv[1])["step_ms"]))' "$json") $(tail -1 "$faults")"
}

echo "| Round | PyTorch ms/step (faults) | Ours, cache on | Ours, cache off | PyTorch / ours (cache on) |"
echo "| --- | --- | --- | --- | --- |"
for round in $(seq 1 "$rounds"); do
  theirs="- -"
  if "$python" -c "import torch" 2>/dev/null; then
    theirs=$(measure env ${TORCH_ENV:-} "$python" Benchmarks/Scripts/pytorch_reference.py --precision fp32 --steps "$steps" --threads "$threads")
  fi
  on=$(measure "$binary" benchmark train --model cpu-small --precision fp32 --steps "$steps" --threads "$threads")
  off=$(MODALITIES_CPU_CACHE_BYTES=0 measure "$binary" benchmark train --model cpu-small --precision fp32 --steps "$steps" --threads "$threads")
  read -r theirs_ms theirs_faults <<<"$theirs"
  read -r on_ms on_faults <<<"$on"
  read -r off_ms off_faults <<<"$off"
  ratio=$([ "$theirs_ms" = "-" ] && echo "-" || python3 -c "print(f'{$theirs_ms / $on_ms:.2f}')")
  echo "| $round | $theirs_ms ($theirs_faults) | $on_ms ($on_faults) | $off_ms ($off_faults) | $ratio |"
done
