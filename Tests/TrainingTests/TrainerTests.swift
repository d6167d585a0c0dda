import DataLoading
import Foundation
import Models
import Observability
import Parallelism
import Testing
import Torch
import Training

/// Random token sequences held in memory: a dataset for driver tests that need no files.
final class RandomTokens: Dataset, @unchecked Sendable {
    let rows: [[Int]]
    init(count: Int, length: Int, vocabulary: Int, seed: UInt64) throws {
        let values = try Tensor.randint(0, vocabulary, [count, length], generator: Generator(seed: seed)).toArray(Int.self)
        rows = (0..<count).map { Array(values[($0 * length)..<(($0 + 1) * length)]) }
    }
    var count: Int { rows.count }
    func sample(at index: Int) throws -> Sample { Sample(["input_ids": rows[index]]) }
}

/// Keeps every result in memory.
final class CollectingSubscriber: ResultSubscriber {
    var results: [EvaluationResult] = []
    func consume(_ result: EvaluationResult) throws { results.append(result) }
}

func tinyModel(seed: UInt64 = 7) throws -> GPT2LLM {
    let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
    let model = try GPT2LLM(
        config: GPT2LLMConfig(
            vocabularySize: 64, sequenceLength: 16, layerCount: 2, queryHeads: 4, keyValueHeads: 2, embeddingSize: 32, ffnHidden: 64,
            bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm,
            weightTying: false),
        seed: seed)
    try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 2).initialize(model.parameters, seed: seed)
    return model
}

func loader(_ dataset: any Dataset, batchSize: Int, workers: Int = 0) throws -> DataLoader {
    DataLoader(
        tag: "train", dataset: dataset,
        batchSampler: try BatchSampler(sampler: SequentialSampler(count: dataset.count), batchSize: batchSize, dropLast: true),
        collator: GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids"), workers: workers)
}

@Suite(.serialized) struct TrainerTests {
    let loss = CLMCrossEntropyLoss(targetKey: "target_ids", predictionKey: "logits")

    /// Trains `steps` steps; returns the model and the published results.
    func train(
        model: any Model, data: any Dataset, microBatch: Int, accumulation: Int, steps: Int, maxNorm: Double? = nil,
        lr: Double = 1e-2, eps: Double = 1e-8, weightDecay: Double = 0.1
    ) throws -> [EvaluationResult] {
        let optimizer = try AdamOptimizer(
            model: model, learningRate: lr, betas: (0.9, 0.95), eps: eps, weightDecay: weightDecay,
            excludedGroups: [], decoupledWeightDecay: true)
        let appState = try AppState(model: model, optimizer: optimizer, scheduler: nil)
        let results = CollectingSubscriber()
        let trainer = try Trainer(
            globalRank: 0, gradientAccumulationSteps: accumulation, globalTokensPerStep: microBatch * accumulation * 16,
            dataParallelDegree: 1,
            progress: TrainingProgress(
                numSeenStepsPreviousRun: 0, numSeenTokensPreviousRun: 0,
                numTargetSteps: steps, numTargetTokens: steps * microBatch * accumulation * 16),
            clipper: GradientClipper(model: model, normType: .P2_NORM, maxNorm: maxNorm), resultSubscriber: results)
        try trainer.train(appState: appState, loader: loader(data, batchSize: microBatch), loss: loss, logInterval: 1) { _ in }
        return results.results
    }

    @Test func gradientAccumulationEqualsOneLargerBatch() throws {
        let data = try RandomTokens(count: 8, length: 17, vocabulary: 64, seed: 1)
        let accumulated = try tinyModel()
        let large = try tinyModel()
        // With eps = 1 Adam's first update is g / (|g| + 1), which moves with the gradient no faster than the gradient
        // itself: equal parameters afterwards mean equal accumulated gradients (a tiny eps would amplify float noise).
        let a = try train(model: accumulated, data: data, microBatch: 2, accumulation: 4, steps: 1, lr: 1, eps: 1, weightDecay: 0)
        let b = try train(model: large, data: data, microBatch: 8, accumulation: 1, steps: 1, lr: 1, eps: 1, weightDecay: 0)
        let normA = a[0]["grad norm last"]!.doubleValue
        let normB = b[0]["grad norm last"]!.doubleValue
        #expect(Swift.abs(normA - normB) <= 1e-6 * normB, "grad norms \(normA) vs \(normB)")
        #expect(Swift.abs(a[0]["train loss avg"]!.doubleValue - b[0]["train loss avg"]!.doubleValue) <= 1e-6)
        for ((name, x), (_, y)) in zip(accumulated.parameters.named, large.parameters.named) {
            let difference = try (x - y).abs().max().item(Double.self)
            #expect(difference <= 1e-6, "\(name) differs by \(difference)")
        }
    }

    @Test func trainingReducesTheLossAndPublishesModalitiesRecords() throws {
        let data = try RandomTokens(count: 4, length: 17, vocabulary: 64, seed: 2)
        let results = try train(
            model: tinyModel(), data: RepeatedDataset(data, times: 40), microBatch: 4, accumulation: 1, steps: 40, maxNorm: 1)
        #expect(results.count == 40)
        let first = results[0]["train loss last"]!.doubleValue
        let last = results[39]["train loss last"]!.doubleValue
        #expect(Swift.abs(first - log(64.0)) < 0.3, "a fresh model's loss is about ln(vocab): \(first)")
        #expect(last < 0.5 * first, "loss \(first) -> \(last)")
        #expect(results[39].losses.map(\.0) == ["train loss avg", "train loss last"])
        #expect(results[39].metrics.map(\.0) == ["consumed tokens", "grad norm avg", "grad norm last"])
        #expect(results[39]["consumed tokens"] == .integer(40 * 4 * 16))
        #expect(
            results[39].throughputMetrics.map(\.0).starts(with: [
                "train samples/s", "train tokens/s", "train mfu (16-bit)", "lr mean", "peak memory rank 0 (MB)",
            ]))
    }

    @Test func runningOutOfDataIsAClearError() throws {
        let data = try RandomTokens(count: 4, length: 17, vocabulary: 64, seed: 3)
        #expect(throws: TrainingError.dataExhausted(loader: "train", delivered: 2, needed: 4)) {
            _ = try train(model: tinyModel(), data: data, microBatch: 2, accumulation: 1, steps: 4)
        }
    }

    @Test func clippingScalesToMaxNormAsPyTorch() throws {
        let model = try tinyModel()
        let batch = try GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids")
            .collate((0..<2).map { try RandomTokens(count: 2, length: 17, vocabulary: 64, seed: 4).sample(at: $0) })
        try loss(predictions: model.forward(batch.samples, training: true), targets: batch.targets).backward()
        let grads = model.parameters.named.compactMap(\.tensor.grad)
        let expected = try grads.map { try $0.pow(2).sum().item(Double.self) }.reduce(0, +).squareRoot()
        let clipper = try GradientClipper(model: model, normType: .P2_NORM, maxNorm: 0.1)
        let total = try clipper.clipGradients()
        #expect(Swift.abs(total - expected) < 1e-5 * expected)
        let after = try grads.map { try $0.pow(2).sum().item(Double.self) }.reduce(0, +).squareRoot()
        #expect(Swift.abs(after - 0.1 * expected / (expected + 1e-6)) < 1e-6)
        // Below the limit nothing changes; the logging-only clipper never changes anything.
        #expect(Swift.abs(try GradientClipper(model: model, normType: .P2_NORM, maxNorm: 10).clipGradients() - after) < 1e-6)
        let maxNorm = try GradientClipper(model: model, normType: .MAX_NORM, maxNorm: nil).clipGradients()
        let largest = try grads.map { try $0.abs().max().item(Double.self) }.max()!
        #expect(Swift.abs(maxNorm - largest) < 1e-9)
        #expect(throws: TrainingError.self) { try GradientClipper(model: model, normType: .P2_NORM, maxNorm: 0) }
    }

    @Test func mixedPrecisionComputesInBF16AndKeepsFloat32Weights() throws {
        let model = try MixedPrecisionModel(wrapping: tinyModel(), computeDType: .bfloat16)
        let batch = try GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids")
            .collate([try RandomTokens(count: 1, length: 17, vocabulary: 64, seed: 5).sample(at: 0)])
        let full = try tinyModel().forward(batch.samples, training: false)["logits"]!
        let mixed = try model.forward(batch.samples, training: true)["logits"]!
        #expect(mixed.dtype == .float32)
        let difference = try (mixed - full).abs().max().item(Double.self)
        #expect(difference > 0 && difference < 0.1, "bf16 compute differs a little from float32: \(difference)")
        try loss(predictions: ["logits": mixed], targets: batch.targets).backward()
        #expect(model.parameters.named.allSatisfy { $0.tensor.dtype == .float32 && $0.tensor.grad?.dtype == .float32 })
        #expect(throws: ParallelismError.self) { try MixedPrecisionModel(wrapping: tinyModel(), computeDType: .float64) }
    }
}

/// A dataset read `times` times over, for overfitting tests.
final class RepeatedDataset: Dataset, @unchecked Sendable {
    let base: any Dataset
    let times: Int
    init(_ base: any Dataset, times: Int) {
        self.base = base
        self.times = times
    }
    var count: Int { base.count * times }
    func sample(at index: Int) throws -> Sample { try base.sample(at: index % base.count) }
}

@Suite(.serialized) struct PeakThroughputTests {
    @Test func theCPUPeakIsWorkedOutOnceAndCached() throws {
        let folder = NSTemporaryDirectory() + "peak-" + UUID().uuidString
        let peak = try PeakThroughput.cpuPeak(cacheFolder: folder)
        #expect(peak.flopsPerSecond > 1e8 && peak.flopsPerSecond < 1e14, "\(peak)")
        #expect(peak.flopsPerSecond >= peak.measuredGEMM && peak.flopsPerSecond >= peak.theoretical ?? 0)
        let cache = try JSONDecoder().decode(
            [String: CPUPeak].self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/cpu-peak.json")))
        #expect(cache.values.first == peak)
        #expect(try PeakThroughput.cpuPeak(cacheFolder: folder) == peak)
        #expect(try PeakThroughput.cpuFlopsPerSecond(cacheFolder: folder) == peak.flopsPerSecond)
    }

    #if arch(x86_64)
    /// On x86-64 the theoretical figure exists: CPUID gives at least SSE's 4 lanes (8 FLOPs per cycle without FMA) and
    /// at most AVX-512's 16 (64 with two FMA pipes); the clock of any x86 CPU made since 2005 lies in 0.5–7 GHz.
    @Test func theTheoreticalPeakComesFromCPUIDAndAMeasuredClock() throws {
        let flopsPerCycle = try #require(Runtime.cpuFloat32FlopsPerCycle)
        #expect([8, 16, 32, 64].contains(flopsPerCycle), "\(flopsPerCycle)")
        let clock = try #require(Runtime.measureCPUClock(milliseconds: 5, rounds: 3))
        #expect(clock > 0.5e9 && clock < 7e9, "\(clock) Hz")
    }

    /// What MFU ≤ 1 needs: no GEMM this process runs beats the peak. A fresh measurement with the same BLAS and threads
    /// is below the theoretical figure on any CPU (it is physics), and so below the peak, which is at least that.
    @Test func aFreshGEMMMeasurementStaysBelowThePeak() throws {
        let peak = try PeakThroughput.cpuPeak(cacheFolder: NSTemporaryDirectory() + "peak-" + UUID().uuidString)
        try #require(peak.theoretical != nil)
        let again = try PeakThroughput.measureGEMM(rounds: 3, warmUpSeconds: 0.1)
        #expect(again <= peak.flopsPerSecond, "a GEMM ran at \(again) FLOP/s, the peak is \(peak)")
    }
    #endif
}
