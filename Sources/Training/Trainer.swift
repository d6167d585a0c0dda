import DataLoading
import Distributed
import Foundation
import Models
import Observability
import Parallelism
import Profiling
import Torch

#if canImport(Glibc)
import Glibc
#endif

/// Trains the model of an app state on the batches of a data loader up to the target step: forward, loss,
/// backward (gradients accumulated over micro batches), clipping, optimizer and scheduler step; after each
/// optimizer step the evaluation and checkpointing callbacks decide whether to act (Modalities' `Trainer`).
public final class Trainer {
    public let globalRank: Int
    public let gradientAccumulationSteps: Int
    /// Tokens one optimizer step consumes over all data-parallel ranks.
    public let globalTokensPerStep: Int
    /// Data-parallel ranks: the samples of a step are this many times the local ones.
    public let dataParallelDegree: Int
    public let clipper: GradientClipper
    public let mfuCalculator: GPT2MFUCalculator?
    public let progressSubscriber: any ProgressSubscriber
    public let resultSubscriber: any ResultSubscriber
    /// Start and target of this run.
    public let initialProgress: TrainingProgress
    /// Seconds spent waiting for data in the last `train` call.
    public private(set) var dataWaitSeconds = 0.0
    /// The data-parallel ranks' group: losses are averaged over it for the results (nil on one rank).
    public var group: ProcessGroup?
    /// Ends training after this many optimizer steps of this run, before the target (nil: train to the target).
    public var stopAfterSteps: Int?
    /// Times the step's phases when set (benchmarks; it synchronises a GPU at every phase).
    public var phaseTimer: StepPhaseTimer?
    /// With pipeline parallelism, the schedule that runs each batch's forwards and backwards over this rank's
    /// stages (the app state's model is then its model parts); the loss exists on the last stage's ranks only.
    public var pipeline: ScheduledPipeline?
    /// The config's top-level `profiler`, stepped once per micro batch as Modalities' trainer steps it.
    public var profiler: (any SteppableProfiler)?
    /// Where the trainer says how it runs the steps (rank 0's log); `model/compiled` reports eager or CUDA graph.
    public var log: (String) -> Void = { _ in }

    public init(
        globalRank: Int, gradientAccumulationSteps: Int, globalTokensPerStep: Int, dataParallelDegree: Int,
        progress: TrainingProgress, clipper: GradientClipper, mfuCalculator: GPT2MFUCalculator? = nil,
        progressSubscriber: any ProgressSubscriber = DummyProgressSubscriber(),
        resultSubscriber: any ResultSubscriber = DummyResultSubscriber()
    ) throws {
        guard gradientAccumulationSteps >= 1 else {
            throw TrainingError.invalidConfig("gradient_accumulation_steps must be 1 or greater, found \(gradientAccumulationSteps)")
        }
        self.globalRank = globalRank
        self.gradientAccumulationSteps = gradientAccumulationSteps
        self.globalTokensPerStep = globalTokensPerStep
        self.dataParallelDegree = dataParallelDegree
        self.clipper = clipper
        self.mfuCalculator = mfuCalculator
        self.progressSubscriber = progressSubscriber
        self.resultSubscriber = resultSubscriber
        initialProgress = progress
    }

    /// Optimizer steps this run takes: to the target, or ``stopAfterSteps`` if that comes first.
    public var stepsThisRun: Int {
        Swift.min(initialProgress.numTargetSteps - initialProgress.numSeenStepsPreviousRun, stopAfterSteps ?? .max)
    }

    /// Runs the remaining steps.
    ///
    /// - Parameters:
    ///   - logInterval: a training result is published every this many steps.
    ///   - afterStep: called after every optimizer step with the progress so far (evaluation, checkpointing).
    public func train(
        appState: AppState, loader: DataLoader, loss: any Loss, logInterval: Int,
        afterStep: (TrainingProgress) throws -> Void
    ) throws {
        var progress = initialProgress
        let model = appState.model
        let device = model.parameters.named.first?.tensor.device ?? .cpu
        let batchesToDo = stepsThisRun * gradientAccumulationSteps
        // Records keep Modalities' key whatever the precision; the console names the one the model computes in.
        let consoleNames = ["train mfu (16-bit)": "train mfu (\(MixedPrecisionModel.precisionLabel(of: model)))"]
        let iterator = try loader.makeIterator()
        // Losses stay on the device until a result is logged: no host synchronisation per step.
        var lossTotal: Tensor?
        var lastLossTensor: Tensor?
        var lossCount = 0
        var gradientNorms: [Tensor] = []  // on the device until logged
        var localSamples = 0
        var localTokens = 0
        // With a loss-masking collator (instruction tuning): how many targets the loss counted, and of how many.
        let masking = loader.collator as? LossMaskingCollator
        var countedTargets: Tensor?  // on the device until logged
        var maskedTargetsTotal = 0
        var intervalStart = DispatchTime.now()
        try appState.optimizer.zeroGrad()
        try phaseTimer?.start(on: device)
        try profiler?.enter()
        // A run that stops early (an error, a target reached) still writes what the profiler recorded.
        var profilerExited = false
        defer { if !profilerExited { try? profiler?.exit() } }

        // With loss parallelism the model's logits hold this rank's part of the vocabulary.
        let vocabularyParallel = model.unwrapped(as: GPT2LLM.self)?.lossParallelGroup
        let graphStep = try compiledStep(appState: appState, device: device)
        let logsGraphSteps = graphStep != nil && model.unwrapped(as: CompiledModel.self)?.debug == true
        for microBatch in 0..<batchesToDo {
            guard let batch = try iterator.nextBatch() else {
                throw TrainingError.dataExhausted(loader: loader.tag, delivered: microBatch, needed: batchesToDo)
            }
            let (samples, targets) = try batch.tensors(on: device)
            try phaseTimer?.mark(.dataWait)
            let lastOfStep = (microBatch + 1) % gradientAccumulationSteps == 0
            let batchLoss: Tensor?
            var updated = false  // the optimizer step already ran (in the CUDA graph's step)
            if let graphStep {
                let result = try graphStep.run(samples: samples, targets: targets) { samples, targets in
                    let predictions = try model.forward(samples, training: true)
                    let value = try loss(predictions: predictions, targets: targets, vocabularyParallel: vocabularyParallel)
                    try value.backward()
                    try GradientSynchronization.finish(model)
                    let norm = try clipper.clipGradientsOnDevice()
                    try appState.optimizer.step()
                    return (value, norm)
                }
                if logsGraphSteps {
                    log("model/compiled: step \(progress.numSeenStepsTotal + 1) \(result.mode.rawValue)")
                }
                if let norm = result.gradientNorm { gradientNorms.append(norm) }
                appState.scheduler?.step()
                batchLoss = result.loss
                updated = true
            } else if let pipeline {
                // The schedule runs forwards and backwards together; the batch's loss is the mean of its micro batches'.
                let losses = try pipeline.step(
                    samples: samples, targets: targets, gradientScale: 1 / Double(gradientAccumulationSteps), lastAccumulation: lastOfStep)
                try phaseTimer?.mark(.backward)
                batchLoss = losses.isEmpty ? nil : try Tensor.stack(losses).mean()
            } else {
                (model as? GradientSynchronizing)?.prepareBackward(lastMicroBatch: lastOfStep)
                let predictions = try model.forward(samples, training: true)
                let value = try loss(predictions: predictions, targets: targets, vocabularyParallel: vocabularyParallel)
                try phaseTimer?.mark(.forward)
                try (value / Double(gradientAccumulationSteps)).backward()
                try phaseTimer?.mark(.backward)
                batchLoss = value
            }
            if let batchLoss {
                let detached = try batchLoss.detach().to(dtype: .float64)
                lossTotal = try lossTotal.map { try $0 + detached } ?? detached
                lastLossTensor = detached
                lossCount += 1
            }
            localSamples += batch.size
            localTokens += targets.values.first?.count ?? 0
            if let masking, let key = masking.targetKeys.first, let masked = targets[key] {
                let counted = try masked.ne(Double(masking.lossIgnoreIndex)).sum(dtype: .int64)
                countedTargets = try countedTargets.map { try $0 + counted } ?? counted
                maskedTargetsTotal += masked.count
            }

            let stepPerformed = (microBatch + 1) % gradientAccumulationSteps == 0
            if stepPerformed && !updated {
                try GradientSynchronization.finish(model)
                try phaseTimer?.mark(.gradientSync)
                if let norm = try clipper.clipGradientsOnDevice() { gradientNorms.append(norm) }
                try appState.optimizer.step()
                appState.scheduler?.step()
                try appState.optimizer.zeroGrad()
                try phaseTimer?.mark(.optimizer)
                phaseTimer?.finishStep()
            }
            progress.numSeenStepsCurrentRun = (microBatch + 1) / gradientAccumulationSteps
            progress.numSeenTokensCurrentRun = progress.numSeenStepsCurrentRun * globalTokensPerStep
            progressSubscriber.consume(ProgressUpdate(stepsDone: progress.numSeenStepsTotal, status: .train, dataloaderTag: loader.tag))
            guard stepPerformed else {
                try profiler?.step()
                continue
            }

            if progress.numSeenStepsTotal % logInterval == 0 {
                let norms = gradientNorms.isEmpty ? [] : try Tensor.stack(gradientNorms).to(dtype: .float64).toArray(Double.self)
                var lossSum = try lossTotal?.item(Double.self) ?? 0
                var lastLoss = try lastLossTensor?.item(Double.self) ?? 0
                if let group, group.size > 1 {
                    // Modalities' reduction: summed losses over summed batch counts; the last losses averaged over
                    // the ranks that have one (under pipeline parallelism only the last stage's).
                    let hasLoss = lastLossTensor == nil ? 0.0 : 1.0
                    let totals = try Tensor([lossSum, Double(lossCount), lastLoss, hasLoss], shape: [4])
                    try group.allReduce(totals)
                    let values = try totals.toArray(Double.self)
                    (lossSum, lossCount, lastLoss) = (values[0], Int(values[1].rounded()), values[2] / Swift.max(values[3], 1))
                }
                var counted: (Int, Int)?
                if let countedTargets {
                    let totals = try Tensor([Double(try countedTargets.item(Int.self)), Double(maskedTargetsTotal)], shape: [2])
                    if let group, group.size > 1 { try group.allReduce(totals) }
                    let values = try totals.toArray(Double.self)
                    counted = (Int(values[0].rounded()), Int(values[1].rounded()))
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - intervalStart.uptimeNanoseconds) / 1e9
                let samplesPerSecond = Double(localSamples * dataParallelDegree) / Swift.max(elapsed, 1e-9)
                var result = EvaluationResult(
                    dataloaderTag: loader.tag, numTrainStepsDone: progress.numSeenStepsTotal,
                    losses: [
                        ("train loss avg", .number(lossSum / Double(Swift.max(lossCount, 1)))), ("train loss last", .number(lastLoss)),
                    ],
                    metrics: [
                        ("consumed tokens", .integer(progress.numSeenTokensTotal)),
                        ("grad norm avg", .number(norms.isEmpty ? 0 : norms.reduce(0, +) / Double(norms.count))),
                        ("grad norm last", .number(norms.last ?? 0)),
                    ],
                    throughputMetrics: [
                        ("train samples/s", .number(samplesPerSecond)),
                        ("train tokens/s", .number(Double(localTokens * dataParallelDegree) / Swift.max(elapsed, 1e-9))),
                        ("train mfu (16-bit)", mfuCalculator?.mfuResult(samplesPerSecond: samplesPerSecond) ?? .notComputed),
                        ("lr mean", .number(appState.optimizer.learningRate)),
                        ("peak memory rank 0 (MB)", .number(Self.peakResidentMegabytes())),
                        ("data wait (s)", .number(iterator.waitSeconds - dataWaitSeconds)),
                    ])
                if let (kept, total) = counted {
                    // The targets the masked loss averaged over (the rest are loss_ignore_index), over all ranks.
                    result.metrics += [("loss target tokens", .integer(kept)), ("masked target tokens", .integer(total - kept))]
                }
                result.consoleNames = consoleNames
                dataWaitSeconds = iterator.waitSeconds
                try resultSubscriber.consume(result)
                lossTotal = nil
                lossCount = 0
                gradientNorms = []
                localSamples = 0
                localTokens = 0
                countedTargets = nil
                maskedTargetsTotal = 0
                intervalStart = DispatchTime.now()
            }
            try afterStep(progress)
            try profiler?.step()
        }
        dataWaitSeconds = iterator.waitSeconds
        profilerExited = true
        try profiler?.exit()
    }

    /// With `model/compiled`: the CUDA-graph step when this run can capture it, else nil; the log says which.
    private func compiledStep(appState: AppState, device: Device) throws -> CUDAGraphStep? {
        let model = appState.model
        guard let compiled = model.unwrapped(as: CompiledModel.self) else { return nil }
        if let reason = CUDAGraphStep.obstacle(
            device: device, optimizer: appState.optimizer, gradientAccumulationSteps: gradientAccumulationSteps, group: group,
            model: model, pipelined: pipeline != nil, phaseTimed: phaseTimer != nil)
        {
            log("model/compiled (block_names \(compiled.blockNames)): eager steps: \(reason)")
            return nil
        }
        let step = try CUDAGraphStep(device: device, optimizer: appState.optimizer as! AdamOptimizer)
        log(
            "model/compiled (block_names \(compiled.blockNames)): the whole training step (forward, backward, clipping, optimizer) runs as one CUDA graph, captured after \(step.warmupSteps) eager steps"
        )
        return step
    }

    /// The process's peak resident memory in MB (`ru_maxrss`), as Modalities reports on CPU.
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return -1 }
        return Double(usage.ru_maxrss) / 1024
    }
}

extension DatasetBatch {
    /// The batch's samples and targets on `device` (tensors already there are not copied).
    func tensors(on device: Device) throws -> (samples: [String: Tensor], targets: [String: Tensor]) {
        func move(_ tensors: [String: Tensor]) throws -> [String: Tensor] {
            // To a GPU without waiting: the copy is queued on the stream the model's kernels follow (from pinned
            // memory, `pin_memory`, it overlaps with them).
            try tensors.mapValues { $0.device == device ? $0 : try $0.to(device: device, nonBlocking: device.kind != .cpu) }
        }
        return (try move(samples), try move(targets))
    }
}
