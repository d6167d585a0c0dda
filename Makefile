# The two commands a new user needs are `make demo` and `make test`; both install what is missing.
SHELL := /bin/bash
SWIFT ?= swift
# Found (or fetched) once, on first use: after `setup` has installed what the script needs, and not again at every
# expansion.
LIBTORCH_DIR = $(eval LIBTORCH_DIR := $$(shell scripts/setup-libtorch))$(LIBTORCH_DIR)
export MODALITIES_TEST_DATA ?= $(abspath ../shared/data)

.PHONY: all setup shim build demo test test-interop tutorials fuzz bench docs format gpu-check gpu-check-dry-run clean

all: build

## Installs system packages that are missing and fetches libtorch 2.11.0 (once).
setup:
	@scripts/setup-system
	@scripts/setup-libtorch > /dev/null

## Builds the C++ shim against libtorch as a shared library of its own, and the CUDA shim (loaded only on GPUs)
## when the CUDA runtime headers are at hand (setup-libtorch keeps them beside its libtorch; CUDA_INCLUDE= otherwise).
## CUDA_INCLUDE lists the runtime's headers first, then NCCL's (NCCL process groups live in the CUDA shim).
CUDA_INCLUDE ?= $(LIBTORCH_DIR)/../nvidia/cu13/include $(LIBTORCH_DIR)/../nvidia/nccl/include
shim: setup
	@$(MAKE) --no-print-directory -C shim -j2 LIBTORCH="$(LIBTORCH_DIR)" OUT="$(CURDIR)/.build/shim"
	@if [ -f "$(firstword $(CUDA_INCLUDE))/crt/host_config.h" ] && [ -n "$(wildcard $(addsuffix /nccl.h,$(CUDA_INCLUDE)))" ]; then \
	  $(MAKE) --no-print-directory -C shim -j2 LIBTORCH="$(LIBTORCH_DIR)" OUT="$(CURDIR)/.build/shim" CUDA_INCLUDE="$(CUDA_INCLUDE)" cuda; \
	else echo "shim: no CUDA runtime or NCCL headers in $(CUDA_INCLUDE): the CUDA shim is not built (GPU-only features will say so)"; fi

## Builds the `modalities` executable (release, static Swift runtime).
build: shim
	$(SWIFT) build -c release --static-swift-stdlib --product modalities

## The main job: environment report plus a tiny training run on the CPU.
## The main job: a small GPT trained end to end on the license texts every Debian/Ubuntu machine has.
demo: build
	.build/release/modalities env
	.build/release/modalities demo --output demo-run

## The whole test suite; then the suites that depend on summation order again under the other BLAS and thread count
## (scripts/test-variants); then the example that registers a custom component.
test: shim
	@scripts/setup-test-tools
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	scripts/test-variants
	.build/debug/CustomComponentExample

## Formats every Swift file as .swift-format says (swift-format ships with the toolchain).
format:
	$(SWIFT) format format -i -r --parallel Sources Tests Fuzz Benchmarks Examples

## Regenerates the component reference from the registry.
docs: shim
	$(SWIFT) build --product modalities
	.build/debug/modalities config components --markdown > docs/components.md

BENCH_VENV ?= $(HOME)/.cache/modalities/bench-venv

## Runs Modalities' own tutorials (getting_started, warmstart, scaling_up) with the release binary, configs
## unchanged, from a copy under .build/tutorials (about 15 minutes on 2 cores).
tutorials: shim
	$(SWIFT) build -c release --product modalities
	scripts/run-modalities-tutorials

## libFuzzer over the readers of outside files (YAML config, pickle, .pbin, JSONL index, tokenizer.json, SentencePiece,
## tiktoken, safetensors):
## FUZZ_SECONDS each (default 600); crashes land in .build/fuzz/<target>/crashes (RELIABILITY.md).
FUZZ_SECONDS ?= 600
fuzz: shim
	scripts/fuzz $(FUZZ_SECONDS)

## Benchmarks: engine overhead, then tokenizer throughput next to the reference libraries (installed into a
## venv on first use). Results go to BENCHMARKS.md by hand, with machine and date.
## Exports trained models of both forms and checks them with transformers itself (installs it into a venv).
test-interop: shim
	$(SWIFT) build --product modalities
	scripts/test-interop

bench: shim
	$(SWIFT) build -c release --product TorchBenchmarks
	$(SWIFT) build -c release --product TokenizerBenchmarks
	$(SWIFT) build -c release --product PackBenchmarks
	$(SWIFT) build -c release --product LoaderBenchmarks
	$(SWIFT) build -c release --product TrainingBenchmarks
	$(SWIFT) build -c release --static-swift-stdlib --product modalities
	.build/release/TorchBenchmarks
	MODALITIES_CPU_BLAS=libtorch .build/release/TorchBenchmarks gemms
	.build/release/TokenizerBenchmarks
	.build/release/PackBenchmarks
	.build/release/LoaderBenchmarks
	.build/release/TrainingBenchmarks
	.build/release/TrainingBenchmarks checkpointing
	.build/release/TrainingBenchmarks profiler
	.build/release/modalities launch --nproc_per_node 2 -- collectives_check --bandwidth
	for n in 2 4; do for engine in ddp fsdp; do \
	  .build/release/modalities launch --nproc_per_node $$n -- sharding_check --engine $$engine --layers 8 --width 256 --vocabulary 8192 | grep "rank 0"; \
	done; \
	  .build/release/modalities launch --nproc_per_node $$n -- sharding_check --engine fsdp --meta --layers 8 --width 256 --vocabulary 8192 | grep "rank 0"; \
	done
	.build/release/modalities launch --nproc_per_node 4 -- collectives_check --bandwidth
	for n in 2 4; do .build/release/modalities launch --nproc_per_node $$n -- benchmark collectives --max_bytes 64M --factor 8 --warmup 3 --iterations 10; done
	.build/release/modalities benchmark plan_accuracy --tables $(MODALITIES_TEST_DATA)/modalities-repo/docs/scaling_experiments/scaling_leonardo.md $(MODALITIES_TEST_DATA)/modalities-repo/docs/scaling_experiments/scaling_mn5.md
	MODALITIES=.build/release/modalities scripts/plan-cpu-check
	Benchmarks/Scripts/pipeline-schedules.sh
	Benchmarks/Scripts/compare-cpu.sh
	Benchmarks/Scripts/cpu-allocator-ab.sh
	Benchmarks/Scripts/cpu-kernels-ab.sh
	$(SWIFT) build -c release --static-swift-stdlib --product modalities
	scripts/bench-pack-vs-modalities
	@test -x $(BENCH_VENV)/bin/python || (python3 -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q tokenizers tiktoken sentencepiece)
	$(BENCH_VENV)/bin/python scripts/bench-reference-tokenizers.py $(MODALITIES_TEST_DATA)

## Packs the GPU check into .build/gpu-check: copy it to any Linux GPU machine with PyTorch and run
## .build/gpu-check/gpu-check run there (README: GPUs).
gpu-check: shim
	scripts/gpu-check pack

## The GPU check's CPU dry run here: pack, then run it with --device cpu against the cached libtorch 2.11.0.
gpu-check-dry-run: shim
	scripts/gpu-check dry-run

clean:
	rm -rf .build
