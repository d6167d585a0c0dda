import Config
import DataLoading
import Distributed
import Foundation
import Models
import Observability
import Torch
import Training

/// `modalities benchmark train --config F`: the training step a config declares, timed phase by phase.
extension TrainingJob {
    /// Step time and its parts, averaged over the timed steps (this rank's view; all ranks run the same steps).
    public struct BenchmarkResult {
        public var stepSeconds: Double
        /// Seconds per step of each phase: data wait, forward (with the loss), backward, gradient synchronisation,
        /// optimizer (with clipping and the scheduler).
        public var phaseSeconds: [StepPhaseTimer.Phase: Double]
        /// Seconds per step blocked in collectives, within the phases above.
        public var communicationSeconds: Double
        /// Tokens one step consumes over all ranks (the config's step profile).
        public var tokensPerStep: Int
        public var tokensPerSecond: Double
        /// Model FLOPs utilisation by the config's `mfu_calculator` (-1 without one, or without a known peak).
        public var mfu: Double
        /// Peak bytes of the model's device (the CPU allocator's, or the GPU caching allocator's) during the run.
        public var peakBytes: Int
        public var finalLoss: Double
        public var device: Device
        public var ranks: Int
        /// This rank's libtorch operators over the timed steps, largest self time first (empty unless profiled).
        public var operators: [OperatorProfile.Entry] = []
        /// Every rank's ``communicationSeconds`` and ``peakBytes``, in rank order (pipeline stages differ).
        public var communicationSecondsByRank: [Double] = []
        public var peakBytesByRank: [Int] = []
    }

    /// Builds the config's model, optimizer, loss, train loader and clipping as `run` does, then trains `warmup +
    /// steps` optimizer steps (no evaluation, no checkpoints, nothing written) with the step's phases timed; with
    /// `profile`, every libtorch operator of the timed steps is timed too (``OperatorProfile``).
    public func benchmark(steps: Int, warmup: Int, profile: Bool = false) throws -> BenchmarkResult {
        guard steps > 0, warmup >= 0 else { throw LaunchError.invalid("--steps must be positive and --warmup not negative") }
        let rank = try Rank(options)
        let (result, settings) = try validatedConfig(rank: rank, experimentID: "benchmark", checkpointPaths: nil)
        // The core only: no evaluation loaders, subscribers or checkpoint saving, so nothing is written.
        let components = try TrainingComponents(result)
        let (appState, loss, loader, clipper) = (components.appState, components.loss, components.trainLoader, components.clipper)
        let (mfu, mesh) = (components.mfuCalculator, components.deviceMesh)

        let total = warmup + steps
        let lastLoss = LastTrainingLoss()
        let trainer = try Trainer(
            globalRank: settings.cudaEnv.globalRank, gradientAccumulationSteps: settings.stepProfile.gradientAccumulationSteps,
            globalTokensPerStep: settings.tokensPerStep, dataParallelDegree: mesh?.dataParallelDegree ?? settings.dataParallelDegree,
            progress: TrainingProgress(
                numSeenStepsPreviousRun: 0, numSeenTokensPreviousRun: 0, numTargetSteps: total,
                numTargetTokens: total * settings.tokensPerStep),
            clipper: clipper, resultSubscriber: lastLoss)
        trainer.group = rank.group
        trainer.pipeline = components.pipeline
        let timer = StepPhaseTimer(warmupSteps: warmup)
        trainer.phaseTimer = timer
        try Memory.resetPeak(on: rank.device)
        if profile && warmup == 0 { try OperatorProfile.start() }
        try trainer.train(appState: appState, loader: loader, loss: loss, logInterval: total) { progress in
            if profile && warmup > 0 && progress.numSeenStepsCurrentRun == warmup { try OperatorProfile.start() }
        }
        let operators = profile ? try OperatorProfile.stop() : []
        let perStep = timer.totalSeconds / Double(timer.countedSteps)
        let tokensPerSecond = Double(settings.tokensPerStep) / perStep
        var measured = BenchmarkResult(
            stepSeconds: perStep, phaseSeconds: timer.seconds.mapValues { $0 / Double(timer.countedSteps) },
            communicationSeconds: timer.communicationSeconds / Double(timer.countedSteps), tokensPerStep: settings.tokensPerStep,
            tokensPerSecond: tokensPerSecond,
            mfu: mfu?.mfu(samplesPerSecond: tokensPerSecond / Double(settings.stepProfile.sequenceLength)) ?? -1,
            peakBytes: try Memory.peakBytes(on: rank.device),
            finalLoss: lastLoss.value ?? .nan, device: rank.device, ranks: rank.group?.size ?? 1, operators: operators)
        if let group = rank.group, group.size > 1 {
            let mine = "\(measured.communicationSeconds) \(measured.peakBytes)"
            let all = try group.allGatherText(mine).map { $0.split(separator: " ") }
            measured.communicationSecondsByRank = all.map { Double($0[0]) ?? .nan }
            measured.peakBytesByRank = all.map { Int($0[1]) ?? -1 }
        }
        return measured
    }
}

/// Keeps the last training loss the trainer publishes.
private final class LastTrainingLoss: ResultSubscriber {
    var value: Double?

    func consume(_ result: EvaluationResult) throws {
        guard case .number(let loss)? = result.losses.first(where: { $0.0 == "train loss last" })?.1 else { return }
        value = loss
    }
}
