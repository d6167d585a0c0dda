# Sourced by the A/B scripts in Benchmarks/Scripts/: the repository root as working folder, and the settings they share.
# BINARY (default .build/release/modalities), MODALITIES_VENV (the Python with torch; else python3), ROUNDS
# (default 5), STEPS (timed steps per run, default 20); threads = the machine's cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
binary=${BINARY:-.build/release/modalities}
python="${MODALITIES_VENV:+$MODALITIES_VENV/bin/python}"
python="${python:-python3}"
threads=$(nproc)
steps=${STEPS:-20}
rounds=${ROUNDS:-5}
