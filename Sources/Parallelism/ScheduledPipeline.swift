import Models
import Torch

/// A stage as one rank runs it: which part of the model it is, and the model part (with its wrappers: mixed
/// precision, FSDP) that computes it.
public struct PipelineStage {
    public let layout: PipelineStageLayout
    public let model: any Model

    public init(layout: PipelineStageLayout, model: any Model) {
        self.layout = layout
        self.model = model
    }
}

/// This rank's stages of a pipeline and the schedule that runs them (Modalities' scheduled `Pipeline`, PyTorch's
/// `PipelineSchedule`): a training step splits the batch into micro batches, runs the rank's forwards and
/// backwards in the schedule's order, and passes activations and gradients to the neighbouring stages' ranks.
///
/// Gradients accumulate in the stages' parameters as one backward of the whole batch would leave them: each micro
/// batch's loss (a mean over its tokens) is scaled by 1 / micro batches before its backward, as PyTorch's
/// `scale_grads` does after the step.
public final class ScheduledPipeline {
    /// Computes a loss from a last stage's predictions and the micro batch's targets (with the vocabulary-parallel
    /// group when the logits are split over it).
    public typealias LossFunction = (
        _ predictions: [String: Tensor], _ targets: [String: Tensor], _ vocabularyParallel: (any TensorParallelCommunicator)?
    ) throws -> Tensor

    public let schedule: PipelineSchedule
    /// The stages this rank holds, by stage index.
    public let stages: [Int: PipelineStage]
    public let transport: any PipelineTransport
    /// The loss the last stage computes for each micro batch.
    public let loss: LossFunction

    /// - Throws: ``ParallelismError/invalidConfig(_:)`` when the stages are not those the schedule gives this rank,
    ///   or the transport's group is not the schedule's.
    public init(schedule: PipelineSchedule, stages: [PipelineStage], transport: any PipelineTransport, loss: @escaping LossFunction) throws
    {
        guard transport.size == schedule.ranks else {
            throw ParallelismError.invalidConfig("the pipeline group has \(transport.size) ranks, the schedule \(schedule.ranks)")
        }
        let expected = schedule.stages(of: transport.rank)
        guard stages.map(\.layout.index) == expected, stages.allSatisfy({ $0.layout.count == schedule.stageCount }) else {
            throw ParallelismError.invalidConfig(
                "pipeline rank \(transport.rank) holds stages \(stages.map(\.layout.index)) of \(stages.first?.layout.count ?? 0), but \(schedule.kind.rawValue) gives it \(expected) of \(schedule.stageCount)"
            )
        }
        self.schedule = schedule
        self.stages = Dictionary(uniqueKeysWithValues: stages.map { ($0.layout.index, $0) })
        self.transport = transport
        self.loss = loss
    }

    /// Whether this rank holds the stage with the input layers (Modalities' `has_first_pp_stage`).
    public var holdsFirstStage: Bool { stages[0] != nil }
    /// Whether this rank holds the stage that computes the loss (Modalities' `has_last_pp_stage`).
    public var holdsLastStage: Bool { stages[schedule.stageCount - 1] != nil }
    /// The model parts in stage order.
    public var models: [any Model] { stages.keys.sorted().map { stages[$0]!.model } }

    /// Runs one training step's forwards and backwards over `samples` and `targets` (the whole local batch, split
    /// into the schedule's micro batches).
    ///
    /// - Parameters:
    ///   - gradientScale: multiplies the gradients (1 / gradient accumulation steps).
    ///   - lastAccumulation: whether this step's gradients are final (data-parallel wrappers reduce them then).
    /// - Returns: each micro batch's loss (detached) on the rank that holds the last stage; empty elsewhere.
    public func step(
        samples: [String: Tensor], targets: [String: Tensor], gradientScale: Double = 1,
        lastAccumulation: Bool = true
    ) throws -> [Tensor] {
        let m = schedule.microBatches
        let sampleChunks = try microBatches(samples)
        let targetChunks = try microBatches(targets)
        let last = schedule.stageCount - 1
        var inputs: [Int: [Int: Tensor]] = [:]  // stage → micro batch → the received activations (leaves)
        var outputs: [Int: [Int: Tensor]] = [:]  // stage → micro batch → activations sent on, or the loss
        var losses: [Int: Tensor] = [:]
        var backwardsLeft = stages.mapValues { _ in m }
        // Split backwards: a local next stage's input gradient, by stage and micro batch; and what an input gradient
        // leaves for the weight gradients (the output, the gradient it was seeded with).
        var outputGradients: [Int: [Int: Tensor]] = [:]
        enum WeightPass {
            /// The output and the gradient it was seeded with, for the second pass over the retained graph.
            case pending(output: Tensor, gradient: Tensor?)
            /// The weight gradients came with the input gradient (the last stage).
            case done
        }
        var weightPasses: [Int: [Int: WeightPass]] = [:]
        /// Hands stage `s`'s input gradient to stage `s − 1`: kept when this rank holds it, sent otherwise.
        func deliverInputGradient(_ gradient: Tensor, of s: Int, microBatch mb: Int) throws {
            if stages[s - 1] != nil {
                outputGradients[s - 1, default: [:]][mb] = gradient
            } else {
                try transport.send(gradient, to: schedule.rank(of: s - 1), tag: tag(s - 1, mb, forward: false))
            }
        }
        for action in schedule.actions(of: transport.rank) {
            switch action {
            case .forward(let s, let mb):
                let stage = stages[s]!
                var stageInputs = sampleChunks[mb]
                if s > 0 {
                    let received =
                        try outputs[s - 1]?[mb].map { try $0.detach() }
                        ?? transport.receive(from: schedule.rank(of: s - 1), tag: tag(s, mb, forward: true))
                    let leaf = try received.requiresGrad(true)
                    inputs[s, default: [:]][mb] = leaf
                    stageInputs[PipelineStageLayout.activationKey] = leaf
                }
                let predictions = try stage.model.forward(stageInputs, training: true)
                if s == last {
                    let value = try loss(predictions, targetChunks[mb], vocabularyParallel(of: stage))
                    outputs[s, default: [:]][mb] = value
                    losses[mb] = try value.detach()
                } else {
                    let activations = try activationOutput(predictions, stage: stage)
                    outputs[s, default: [:]][mb] = activations
                    if stages[s + 1] == nil {
                        try transport.send(try activations.detach(), to: schedule.rank(of: s + 1), tag: tag(s + 1, mb, forward: true))
                    }
                }
            case .backward(let s, let mb):
                let stage = stages[s]!
                guard let output = outputs[s]?.removeValue(forKey: mb) else {
                    throw ParallelismError.mismatch("\(schedule.kind.rawValue) ran backward \(action) before its forward")
                }
                backwardsLeft[s]! -= 1
                (stage.model as? GradientSynchronizing)?.prepareBackward(lastMicroBatch: lastAccumulation && backwardsLeft[s] == 0)
                if s == last {
                    try (output * (gradientScale / Double(m))).backward()
                } else {
                    let gradient: Tensor
                    if stages[s + 1] != nil {
                        guard let local = inputs[s + 1]?.removeValue(forKey: mb)?.grad else {
                            throw ParallelismError.mismatch("stage \(s + 1) left no gradient for micro batch \(mb)")
                        }
                        gradient = local
                    } else {
                        gradient = try transport.receive(from: schedule.rank(of: s + 1), tag: tag(s, mb, forward: false))
                    }
                    try Autograd.backward([output], gradOutputs: [gradient])
                }
                if s > 0, stages[s - 1] == nil, let input = inputs[s]?.removeValue(forKey: mb) {
                    guard let gradient = input.grad else {
                        throw ParallelismError.mismatch("stage \(s)'s input got no gradient for micro batch \(mb)")
                    }
                    try transport.send(gradient, to: schedule.rank(of: s - 1), tag: tag(s - 1, mb, forward: false))
                }
            case .backwardInput(let s, let mb):
                guard let output = outputs[s]?.removeValue(forKey: mb) else {
                    throw ParallelismError.mismatch("\(schedule.kind.rawValue) ran \(action) before its forward")
                }
                let stage = stages[s]!
                if let checkpointed = stage.model.unwrapped(as: GPT2LLM.self)?.checkpointedLayers, !checkpointed.isEmpty {
                    // A checkpointed block's backward runs a whole inner backward, weights included, in the input pass.
                    throw ParallelismError.invalidConfig(
                        "\(schedule.kind.rawValue) computes input and weight gradients apart, which activation checkpointing cannot: drop model/activation_checkpointed or use Interleaved1F1B"
                    )
                }
                if s == last {
                    // The loss's backward (the fused cross entropy hands its gradient over once) runs whole here: the
                    // weight gradients of the last stage come with its input gradient, and its W only counts.
                    backwardsLeft[s]! -= 1
                    (stage.model as? GradientSynchronizing)?.prepareBackward(lastMicroBatch: lastAccumulation && backwardsLeft[s] == 0)
                    try (output * (gradientScale / Double(m))).backward()
                    if s > 0, let input = inputs[s]?.removeValue(forKey: mb) {
                        guard let inputGradient = input.grad else {
                            throw ParallelismError.mismatch("stage \(s)'s input got no gradient for micro batch \(mb)")
                        }
                        try deliverInputGradient(inputGradient, of: s, microBatch: mb)
                    }
                    weightPasses[s, default: [:]][mb] = .done
                    continue
                }
                // Other stages are seeded with their output's gradient from the next stage.
                var gradient: Tensor?
                if stages[s + 1] != nil {
                    guard let local = outputGradients[s]?.removeValue(forKey: mb) else {
                        throw ParallelismError.mismatch("stage \(s + 1) left no gradient for micro batch \(mb)")
                    }
                    gradient = local
                } else {
                    gradient = try transport.receive(from: schedule.rank(of: s + 1), tag: tag(s, mb, forward: false))
                }
                // The first stage's input is token ids: nothing to send back, and its weight gradients do the rest.
                if s > 0, let input = inputs[s]?.removeValue(forKey: mb) {
                    guard
                        let inputGradient = try Autograd.grad(
                            outputs: [output], inputs: [input], gradOutputs: gradient.map { [$0] }, retainGraph: true,
                            allowUnused: true
                        ).first ?? nil
                    else {
                        throw ParallelismError.mismatch("stage \(s)'s input got no gradient for micro batch \(mb)")
                    }
                    try deliverInputGradient(inputGradient, of: s, microBatch: mb)
                }
                weightPasses[s, default: [:]][mb] = .pending(output: output, gradient: gradient)
            case .backwardWeight(let s, let mb):
                guard let pass = weightPasses[s]?.removeValue(forKey: mb) else {
                    throw ParallelismError.mismatch("\(schedule.kind.rawValue) ran \(action) before its input gradient")
                }
                guard case .pending(let target, let gradient) = pass else { continue }
                backwardsLeft[s]! -= 1
                let stage = stages[s]!
                (stage.model as? GradientSynchronizing)?.prepareBackward(lastMicroBatch: lastAccumulation && backwardsLeft[s] == 0)
                // libtorch's autograd has no public way to keep the input gradient's intermediate results for the
                // weights (PyTorch's stage_backward_weight reuses them): the graph, kept by the input gradient, is
                // run again, and only the weights' gradients are used (accumulated, with their hooks: FSDP's and
                // DDP's reductions run here).
                try Autograd.backward([target], gradOutputs: gradient.map { [$0] })
            }
        }
        try transport.finishSends()
        return (0..<m).compactMap { losses[$0] }
    }

    /// Runs the batch forward through the pipeline without gradients (evaluation): each rank's stages in order,
    /// micro batch after micro batch.
    ///
    /// - Returns: each micro batch's loss on the rank that holds the last stage; empty elsewhere.
    public func evaluate(samples: [String: Tensor], targets: [String: Tensor]) throws -> [Tensor] {
        let sampleChunks = try microBatches(samples)
        let targetChunks = try microBatches(targets)
        let last = schedule.stageCount - 1
        var losses: [Tensor] = []
        try Autograd.noGrad {
            var local: [Int: Tensor] = [:]  // activations of a local stage for the next local one, by micro batch
            for s in stages.keys.sorted() {
                let stage = stages[s]!
                for mb in 0..<schedule.microBatches {
                    var stageInputs = sampleChunks[mb]
                    if s > 0 {
                        stageInputs[PipelineStageLayout.activationKey] =
                            try local.removeValue(forKey: mb)
                            ?? transport.receive(from: schedule.rank(of: s - 1), tag: tag(s, mb, forward: true))
                    }
                    let predictions = try stage.model.forward(stageInputs, training: false)
                    if s == last {
                        losses.append(try loss(predictions, targetChunks[mb], vocabularyParallel(of: stage)))
                    } else if stages[s + 1] != nil {
                        local[mb] = try activationOutput(predictions, stage: stage)
                    } else {
                        try transport.send(
                            try activationOutput(predictions, stage: stage), to: schedule.rank(of: s + 1),
                            tag: tag(s + 1, mb, forward: true))
                    }
                }
            }
            try transport.finishSends()
        }
        return losses
    }

    /// Messages are matched by stage, micro batch and direction (unique within a step).
    private func tag(_ stage: Int, _ microBatch: Int, forward: Bool) -> Int {
        (stage * schedule.microBatches + microBatch) * 2 + (forward ? 0 : 1)
    }

    private func activationOutput(_ predictions: [String: Tensor], stage: PipelineStage) throws -> Tensor {
        guard let activations = predictions[PipelineStageLayout.activationKey] else {
            throw ParallelismError.mismatch(
                "pipeline \(stage.layout) returned \(predictions.keys.sorted()) instead of '\(PipelineStageLayout.activationKey)'")
        }
        return activations
    }

    private func vocabularyParallel(of stage: PipelineStage) -> (any TensorParallelCommunicator)? {
        stage.model.unwrapped(as: GPT2LLM.self)?.lossParallelGroup
    }

    /// The batch's tensors split along the batch dimension into the schedule's micro batches.
    private func microBatches(_ tensors: [String: Tensor]) throws -> [[String: Tensor]] {
        let m = schedule.microBatches
        var chunks = [[String: Tensor]](repeating: [:], count: m)
        for (key, tensor) in tensors {
            let size = tensor.rank > 0 ? tensor.size(0) : 0
            guard size % m == 0, size > 0 else {
                throw ParallelismError.invalidConfig(
                    "the batch's '\(key)' has \(size) samples, which do not split into \(m) micro batches (batch_size / microbatch_size)")
            }
            for (index, chunk) in try tensor.chunk(m, dim: 0).enumerated() { chunks[index][key] = chunk }
        }
        return chunks
    }
}
