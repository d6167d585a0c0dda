import DataLoading
import Foundation
import Models
import Profiling
import Torch
import Training

/// How much of a training step happens outside libtorch: the demo model (4 layers, width 128, vocabulary 1024,
/// 8 × 128 tokens per step) trained by the real `Trainer` on a 2-worker loader; libtorch's share is the time the
/// training thread spends inside shim calls (timed in C++ by the shim), the data wait is the loader's.
///
///     swift run -c release TrainingBenchmarks [steps]
///     swift run -c release TrainingBenchmarks checkpointing [steps]   (see CheckpointingBenchmark.swift)
///     swift run -c release TrainingBenchmarks profiler                 (a waiting profiler's cost per step)

final class RandomTokens: Dataset, @unchecked Sendable {
    let rows: [[Int]]
    init(count: Int, length: Int, vocabulary: Int) throws {
        let values = try Tensor.randint(0, vocabulary, [count, length], generator: Generator(seed: 1)).toArray(Int.self)
        rows = (0..<count).map { Array(values[($0 * length)..<(($0 + 1) * length)]) }
    }
    var count: Int { rows.count }
    func sample(at index: Int) throws -> Sample { Sample(["input_ids": rows[index]]) }
}

if CommandLine.arguments.dropFirst().first == "checkpointing" {
    try benchmarkCheckpointing(steps: CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 3 : 3)
    exit(0)
}
let steps = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 40 : 40
let warmup = 5
let (batch, length, vocabulary) = (8, 128, 1024)
let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm)
let model = try GPT2LLM(
    config: GPT2LLMConfig(
        vocabularySize: vocabulary, sequenceLength: length, layerCount: 4, queryHeads: 4, keyValueHeads: 4, embeddingSize: 128,
        ffnHidden: 512,
        bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, attentionImplementation: .pytorchFlash, activation: .swiglu,
        attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: true))
try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 4).initialize(model.parameters, seed: 0)
let optimizer = try AdamOptimizer(
    model: model, learningRate: 1e-3, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1,
    excludedGroups: ["embedding"], decoupledWeightDecay: true)
let appState = try AppState(model: model, optimizer: optimizer, scheduler: nil)
let loss = CLMCrossEntropyLoss(targetKey: "target_ids", predictionKey: "logits")
let dataset = try RandomTokens(count: (steps + warmup) * batch, length: length + 1, vocabulary: vocabulary)

@MainActor func run(steps: Int, skipping: Int, profiler: (any SteppableProfiler)? = nil) throws -> (wall: Double, wait: Double) {
    let sampler = try DistributedSampler(datasetCount: dataset.count, rank: 0, replicas: 1, shuffle: false, skippedGlobalSamples: skipping)
    let loader = DataLoader(
        tag: "train", dataset: dataset, batchSampler: try BatchSampler(sampler: sampler, batchSize: batch, dropLast: true),
        collator: GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids"), workers: 2)
    let trainer = try Trainer(
        globalRank: 0, gradientAccumulationSteps: 1, globalTokensPerStep: batch * length, dataParallelDegree: 1,
        progress: TrainingProgress(
            numSeenStepsPreviousRun: 0, numSeenTokensPreviousRun: 0, numTargetSteps: steps,
            numTargetTokens: steps * batch * length),
        clipper: GradientClipper(model: model, normType: .P2_NORM, maxNorm: 1))
    trainer.profiler = profiler
    let start = DispatchTime.now()
    try trainer.train(appState: appState, loader: loader, loss: loss, logInterval: steps) { _ in }
    return (Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9, trainer.dataWaitSeconds)
}

_ = try run(steps: warmup, skipping: 0)

// Profiler overhead while it waits (torch.profiler's wait phase): steps with no profiler, with kernel_tracing and
// with memory_tracing whose schedules never reach a recorded step, in alternating rounds.
if CommandLine.arguments.dropFirst().first == "profiler" {
    let folder = NSTemporaryDirectory() + "profiler-overhead-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let waiting = ProfilerSchedule(waitSteps: 1_000_000, warmupSteps: 0, activeSteps: 1)
    let profilers: [(String, () -> (any SteppableProfiler)?)] = [
        ("none", { nil }),
        (
            "kernel_tracing",
            {
                KernelTracingProfiler(
                    schedule: waiting, options: KinetoTrace.Options(), traceFile: folder + "/trace.json",
                    summaryFile: folder + "/summary.txt")
            }
        ),
        ("memory_tracing", { MemoryTracingProfiler(schedule: waiting, device: .cpu, snapshotFile: folder + "/memory.pkl") }),
    ]
    var seconds: [String: [Double]] = [:]
    for _ in 0..<5 {
        for (name, make) in profilers {
            seconds[name, default: []].append(try run(steps: steps, skipping: warmup * batch, profiler: make()).wall)
        }
    }
    let median = { (values: [Double]) in values.sorted()[values.count / 2] / Double(steps) }
    let base = median(seconds["none"]!)
    for (name, make) in profilers {
        let perStep = median(seconds[name]!)
        // The profiler's own cost per step, timed alone: a million steps of its waiting schedule.
        var own = 0.0
        if let profiler = make() {
            try profiler.enter()
            let start = DispatchTime.now()
            for _ in 0..<1_000_000 { try profiler.step() }
            own = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 / 1_000_000
            try profiler.exit()
        }
        print(
            String(
                format:
                    "%@: %.2f ms per training step (median of 5 rounds of %d steps), %+.2f%% against none; step() alone %.0f ns (%.6f%% of a step)",
                name, 1000 * perStep, steps, 100 * (perStep / base - 1), own * 1e9, 100 * own / base))
    }
    exit(0)
}
CallTiming.enable()
CallTiming.resetThread()
let (wall, wait) = try run(steps: steps, skipping: warmup * batch)
let inside = CallTiming.threadSeconds
let outside = wall - inside - wait
print(
    String(
        format: "training step, demo model, %d steps on %d threads: %.1f ms per step", steps, Runtime.threadCount,
        1000 * wall / Double(steps)))
print(String(format: "  inside libtorch: %.1f ms (%.2f%%)", 1000 * inside / Double(steps), 100 * inside / wall))
print(String(format: "  data wait:       %.3f ms (%.2f%%)", 1000 * wait / Double(steps), 100 * wait / wall))
print(
    String(
        format: "  outside both:    %.3f ms (%.2f%%) — Swift driver, bindings, loss/metric bookkeeping", 1000 * outside / Double(steps),
        100 * outside / wall))
