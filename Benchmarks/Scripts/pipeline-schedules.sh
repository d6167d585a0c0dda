#!/usr/bin/env bash
# Pipeline schedules on 2 CPU ranks with one libtorch thread each (one core per rank, so a rank that waits leaves
# its core idle, as a GPU would): Benchmarks/Configs/gpt2_pp2.yaml under each schedule, 8 micro batches per step.
# Prints per schedule: step time, the pipeline's part (forward and backward), each rank's time blocked in
# communication (mostly waiting for the other stage: the bubble), each rank's peak CPU allocator bytes, and the
# bubble the schedule has on paper for equal stages.
# Usage (from the repository root, after `swift build -c release --product modalities`):
#   MODALITIES_TEST_DATA=../shared/data Benchmarks/Scripts/pipeline-schedules.sh
set -euo pipefail
bin=${MODALITIES_BIN:-.build/release/modalities}
config=Benchmarks/Configs/gpt2_pp2.yaml
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cat > "$scratch/summary.py" <<'PYTHON'
import json, os, sys
r = json.loads(sys.stdin.read())
schedule = os.environ["SCHEDULE"]
p, m = 2, 8
v = 2 if schedule in ("Interleaved1F1B", "LoopedBFS", "InterleavedZeroBubble") else 1
paper = (p - 1) / (v * m + p - 1) if schedule in ("Interleaved1F1B", "InterleavedZeroBubble") else (p - 1) / (m + p - 1)
pipeline = r["backward_ms"]
blocked = " / ".join("%5.0f ms (%4.1f%%)" % (b, 100 * b / pipeline) for b in r["communication_ms_by_rank"])
peaks = " / ".join("%5.0f MB" % x for x in r["peak_memory_mb_by_rank"])
print("%-16s step %6.0f ms | pipeline %6.0f ms | blocked %s | peak %s | on paper %4.1f%% | loss %.6f"
      % (schedule, r["step_ms"], pipeline, blocked, peaks, 100 * paper, r["loss"]))
PYTHON
# InterleavedZeroBubble's "on paper" is Interleaved1F1B's: its weight passes fill that bubble, but here each weight pass
# runs the stage's backward graph again (libtorch keeps no intermediate input gradients for it), so its step is longer.
for schedule in GPipe 1F1B Interleaved1F1B LoopedBFS InterleavedZeroBubble; do
  case $schedule in
    # Two stages per rank: 4 stages of 3 layer equivalents (the head counted as 3).
    Interleaved1F1B|LoopedBFS|InterleavedZeroBubble) edits=(-e "s/output_layer_equivalence: 8/output_layer_equivalence: 3/" -e "s/num_layers_per_stage: 9/num_layers_per_stage: 3/") ;;
    *) edits=(-e "s/^#.*//") ;;
  esac
  sed -e "s/PP_SCHEDULE/$schedule/" "${edits[@]}" "$config" > "$scratch/$schedule.yaml"
  "$bin" launch --nproc_per_node 2 -- benchmark train --config "$scratch/$schedule.yaml" --steps 4 --warmup 2 --threads 1 \
    | grep '^{' | SCHEDULE=$schedule python3 "$scratch/summary.py"
done
