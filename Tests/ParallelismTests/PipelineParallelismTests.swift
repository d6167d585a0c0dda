import Foundation
import Models
import Parallelism
import TestSupport
import Testing
import Torch

/// A pipeline group of threads in one process: a sent tensor waits in a mailbox until its receiver takes it. The
/// schedules' mathematics is checked here without a network; the same schedules over c10d run through `launch`.
final class ThreadPipelineMailbox: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var letters: [String: Tensor] = [:]

    init(size: Int) { self.size = size }

    final class Member: PipelineTransport, @unchecked Sendable {
        let mailbox: ThreadPipelineMailbox
        let rank: Int
        init(_ mailbox: ThreadPipelineMailbox, rank: Int) {
            self.mailbox = mailbox
            self.rank = rank
        }
        var size: Int { mailbox.size }

        func send(_ tensor: Tensor, to peer: Int, tag: Int) throws {
            let copy = try tensor.clone()
            mailbox.condition.lock()
            defer { mailbox.condition.unlock() }
            let key = "\(rank)>\(peer)#\(tag)"
            precondition(mailbox.letters[key] == nil, "two messages with tag \(tag) from \(rank) to \(peer)")
            mailbox.letters[key] = copy
            mailbox.condition.broadcast()
        }

        func receive(from peer: Int, tag: Int) throws -> Tensor {
            mailbox.condition.lock()
            defer { mailbox.condition.unlock() }
            let key = "\(peer)>\(rank)#\(tag)"
            while mailbox.letters[key] == nil { mailbox.condition.wait() }
            return mailbox.letters.removeValue(forKey: key)!
        }

        func finishSends() throws {}
    }

    /// Runs `body` once per rank, each on its own thread, and returns the results in rank order.
    func run<T>(_ body: @escaping (Member) throws -> T) throws -> [T] {
        try runOnThreadRanks(size) { rank in try body(Member(self, rank: rank)) }
    }
}

@Suite struct PipelineScheduleTests {
    /// Every available schedule, for a range of ranks, stages per rank and micro batches, gives each rank each of
    /// its stages' forwards and backwards once (a backward after its forward), and runs to the end without any
    /// rank waiting forever.
    @Test func everyScheduleRunsEachMicroBatchOnceWithoutDeadlock() throws {
        for kind in PipelineSchedule.Kind.allCases where kind.isAvailable {
            for ranks in 1...4 {
                for perRank in kind.holdsSeveralStages ? [1, 2, 3] : [1] {
                    for microBatches in 1...9 {
                        guard
                            let schedule = try? PipelineSchedule(
                                kind: kind, ranks: ranks, stageCount: ranks * perRank, microBatches: microBatches)
                        else { continue }
                        for rank in 0..<ranks {
                            let actions = schedule.actions(of: rank)
                            #expect(Set(actions).count == actions.count)
                            // Zero-bubble schedules split each backward into its input and weight gradients.
                            let perMicroBatch = kind == .interleavedZeroBubble ? 3 : 2
                            #expect(
                                actions.count == perMicroBatch * perRank * microBatches, "\(kind) p\(ranks) v\(perRank) m\(microBatches)")
                            func position(_ action: PipelineSchedule.Action) -> Int { actions.firstIndex(of: action) ?? -1 }
                            for action in actions {
                                switch action {
                                case .forward: break
                                case .backward(let stage, let microBatch), .backwardInput(let stage, let microBatch):
                                    let forward = position(.forward(stage: stage, microBatch: microBatch))
                                    #expect(forward >= 0 && forward < position(action))
                                case .backwardWeight(let stage, let microBatch):
                                    let input = position(.backwardInput(stage: stage, microBatch: microBatch))
                                    #expect(input >= 0 && input < position(action))
                                }
                            }
                        }
                        _ = try schedule.simulate()
                    }
                }
            }
        }
    }

    /// The bubble of GPipe and 1F1B is (p−1)/(m+p−1) of the step; interleaving v stages per rank shrinks it to
    /// (p−1)/(v·m+p−1) (forward and backward taking the same time, as the textbook formulas assume).
    @Test func bubblesAreTheTextbookFractions() throws {
        for (p, m) in [(2, 4), (4, 8), (4, 4)] {
            for kind in [PipelineSchedule.Kind.gpipe, .oneForwardOneBackward] {
                let bubble = try PipelineSchedule(kind: kind, ranks: p, stageCount: p, microBatches: m).simulate(
                    forwardCost: 1, backwardCost: 1)
                #expect(abs(bubble.bubbleFraction - Double(p - 1) / Double(m + p - 1)) < 1e-12, "\(kind) p\(p) m\(m)")
            }
            let v = 2
            let interleaved = try PipelineSchedule(kind: .interleaved1F1B, ranks: p, stageCount: v * p, microBatches: m)
                .simulate(forwardCost: 1, backwardCost: 1)
            #expect(abs(interleaved.bubbleFraction - Double(p - 1) / Double(v * m + p - 1)) < 1e-12, "interleaved p\(p) m\(m)")
        }
    }

    /// Splitting the backward lets weight gradients fill the interleaved schedule's bubbles (backward twice the
    /// forward, split evenly, as the zero-bubble paper models it).
    @Test func zeroBubbleShrinksTheInterleavedBubble() throws {
        for (p, m) in [(2, 4), (4, 8), (4, 4)] {
            let interleaved = try PipelineSchedule(kind: .interleaved1F1B, ranks: p, stageCount: 2 * p, microBatches: m).simulate()
            let zeroBubble = try PipelineSchedule(kind: .interleavedZeroBubble, ranks: p, stageCount: 2 * p, microBatches: m).simulate()
            #expect(zeroBubble.bubbleFraction < interleaved.bubbleFraction, "p\(p) m\(m): \(zeroBubble) vs \(interleaved)")
        }
        // PyTorch's rules for rank 1 of 2, stages 1 and 3, 2 micro batches: a warm-up of (v − 1) · 2 + (p − 1 − rank) = 2
        // forwards, then forward + input gradient; rank r holds back its first r weight gradients, then one follows each
        // input gradient, and the held-back ones end the step.
        let schedule = try PipelineSchedule(kind: .interleavedZeroBubble, ranks: 2, stageCount: 4, microBatches: 2)
        #expect(schedule.actions(of: 1).map(\.description) == [
            "F1.0", "F1.1", "F3.0", "I3.0", "F3.1", "I3.1", "W3.0", "I1.0", "W3.1", "I1.1", "W1.0", "W1.1",
        ])
    }

    /// Names match as PyTorch's `get_schedule_class` matches them (ignoring case); an unknown name lists the known
    /// ones, a known one this version does not run names the ones it does.
    @Test func scheduleNamesMatchIgnoringCase() throws {
        #expect(try PipelineSchedule.Kind(name: "gpipe") == .gpipe)
        #expect(try PipelineSchedule.Kind(name: "interleaved1f1b") == .interleaved1F1B)
        #expect(try PipelineSchedule.Kind(name: "1F1B") == .oneForwardOneBackward)
        #expect(throws: ParallelismError.self) { try PipelineSchedule.Kind(name: "Zigzag") }
        do {
            _ = try PipelineSchedule.Kind(name: "Zigzag")
        } catch {
            #expect("\(error)".contains("GPipe, 1F1B, Interleaved1F1B"))
        }
        do {
            _ = try PipelineSchedule.Kind(name: "zbvzerobubble")
        } catch {
            #expect("\(error)".contains("ZBVZeroBubble is not available yet"))
        }
    }

    @Test func singleStageSchedulesAndRoundsAreChecked() throws {
        #expect(throws: ParallelismError.self) { try PipelineSchedule(kind: .gpipe, ranks: 2, stageCount: 4, microBatches: 4) }
        #expect(throws: ParallelismError.self) { try PipelineSchedule(kind: .loopedBFS, ranks: 2, stageCount: 3, microBatches: 4) }
        // 6 micro batches over 4 ranks: one round of 6, allowed; 10 over 4: two rounds of 5.
        _ = try PipelineSchedule(kind: .interleaved1F1B, ranks: 4, stageCount: 8, microBatches: 6)
        _ = try PipelineSchedule(kind: .interleaved1F1B, ranks: 4, stageCount: 8, microBatches: 10)
        #expect(throws: ParallelismError.self) { try PipelineSchedule(kind: .interleaved1F1B, ranks: 4, stageCount: 8, microBatches: 9) }
    }

    /// Modalities' reference PP config: 6 layers with the embeddings and the head as one layer each, two per stage,
    /// over 4 ranks.
    @Test func stagesAreSplitAsModalitiesSplitsThem() throws {
        let generator = try PipelineStagesGenerator(layerCount: 6)
        let names = try generator.moduleNames(layersPerStage: 2, pipelineDegree: 4)
        #expect(
            names == [
                ["transformer.wte", "transformer.wpe", "transformer.drop", "transformer.h.0"],
                ["transformer.h.1", "transformer.h.2"], ["transformer.h.3", "transformer.h.4"],
                ["transformer.h.5", "transformer.lm_head_norm", "transformer.lm_head"],
            ])
        let layouts = try generator.layouts(layersPerStage: 2, pipelineDegree: 4)
        #expect(layouts.map(\.layers) == [0..<1, 1..<3, 3..<5, 5..<6])
        #expect(layouts.map(\.holdsInput) == [true, false, false, false])
        #expect(layouts.map(\.holdsOutput) == [false, false, false, true])
        do {
            _ = try generator.moduleNames(layersPerStage: 3, pipelineDegree: 2)
            Issue.record("3 stages over 2 ranks were accepted")
        } catch {
            #expect("\(error)".contains("3 pipeline stages") && "\(error)".contains("pipeline_parallel_degree 2"))
        }
    }
}

/// Pipelines of thread ranks against the one-rank model: the same loss and the same gradients, whatever the
/// schedule. Micro batches add their gradients in another order than one backward over the batch, so values agree
/// to float32 rounding: within 1e-5 of each tensor's largest magnitude.
@Suite struct PipelineTrainingStepTests {
    static let vocabulary = 64
    static let config = GPT2LLMConfig(
        vocabularySize: vocabulary, sequenceLength: 16, layerCount: 6, queryHeads: 4, keyValueHeads: 2, embeddingSize: 32,
        ffnHidden: 64, bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, activation: .swiglu,
        attentionNorm: .init(kind: .rmsNorm, epsilon: 1e-6, bias: false), ffnNorm: .init(kind: .rmsNorm, epsilon: 1e-6, bias: false),
        lmHeadNorm: .init(kind: .rmsNorm, epsilon: 1e-6, bias: false), weightTying: false, swigluHiddenMultiple: 32)
    static let gpt2Config = GPT2LLMConfig(
        vocabularySize: vocabulary, sequenceLength: 16, layerCount: 6, queryHeads: 4, keyValueHeads: 4, embeddingSize: 32,
        ffnHidden: 64, bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: .init(kind: .layerNorm),
        ffnNorm: .init(kind: .layerNorm), lmHeadNorm: .init(kind: .layerNorm), weightTying: false)
    static let initializer = try! ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 6)

    static func batch() throws -> (samples: [String: Tensor], targets: [String: Tensor]) {
        let tokens = try Tensor.randint(0, vocabulary, [8, 17], generator: Generator(seed: 7))
        return (["input_ids": try tokens.narrow(1, start: 0, length: 16)], ["target_ids": try tokens.narrow(1, start: 1, length: 16)])
    }

    /// The training loss as the trainer computes it: the fused cross entropy, which hands its gradient over once (so a
    /// schedule that ran the loss's backward twice would lose the head's gradient).
    static func loss(_ predictions: [String: Tensor], _ targets: [String: Tensor], _: (any TensorParallelCommunicator)?) throws -> Tensor {
        try Functional.crossEntropyReusingLogits(predictions["logits"]!.reshape([-1, vocabulary]), target: targets["target_ids"]!.reshape([-1]))
    }

    static func relativeDifference(_ a: Tensor, _ b: Tensor) throws -> Float {
        let (a, b) = (try a.toArray(Float.self), try b.toArray(Float.self))
        let scale = Swift.max(b.map(abs).max() ?? 0, 1e-4)
        return (zip(a, b).map { abs($0 - $1) }.max() ?? .infinity) / scale
    }

    @Test(arguments: [
        ("GPipe", 1, 2), ("1F1B", 1, 4), ("Interleaved1F1B", 2, 2), ("Interleaved1F1B", 2, 4), ("LoopedBFS", 2, 4),
        ("InterleavedZeroBubble", 1, 4), ("InterleavedZeroBubble", 2, 2), ("InterleavedZeroBubble", 2, 4), ("InterleavedZeroBubble", 2, 8),
    ])
    func twoPipelineRanksFollowOneRank(schedule name: String, stagesPerRank: Int, microBatches: Int) throws {
        for config in [Self.config, Self.gpt2Config] {
            let whole = try GPT2LLM(config: config, seed: 3)
            try Self.initializer.initialize(whole, seed: 3)
            let (samples, targets) = try Self.batch()
            let reference = try Self.loss(try whole.forward(samples, training: true), targets, nil)
            try reference.backward()
            let referenceGrads = Dictionary(uniqueKeysWithValues: whole.parameters.named.map { ($0.name, $0.tensor.grad!) })

            let stageCount = 2 * stagesPerRank
            let layouts = try PipelineStagesGenerator(layerCount: 6).layouts(layersPerStage: 8 / stageCount, pipelineDegree: 2)
            #expect(layouts.count == stageCount)
            let schedule = try PipelineSchedule(
                kind: try PipelineSchedule.Kind(name: name), ranks: 2, stageCount: stageCount, microBatches: microBatches)
            let ranks = try ThreadPipelineMailbox(size: 2).run { member -> ([Float], [String: Tensor]) in
                let stages = try schedule.stages(of: member.rank).map { index in
                    // Each stage initialised on its own: it draws the whole model's values and keeps its part.
                    let part = try GPT2LLM(config: config, seed: 3).splitForPipeline(layouts[index])
                    try Self.initializer.initialize(part, seed: 3)
                    return PipelineStage(layout: layouts[index], model: part)
                }
                let pipeline = try ScheduledPipeline(schedule: schedule, stages: stages, transport: member, loss: Self.loss)
                let losses = try pipeline.step(samples: samples, targets: targets)
                var grads: [String: Tensor] = [:]
                for stage in stages {
                    for (name, tensor) in stage.model.parameters.named { grads[name] = tensor.grad }
                }
                return (try losses.map { try $0.item(Float.self) }, grads)
            }
            #expect(ranks[0].0.isEmpty)
            #expect(ranks[1].0.count == microBatches)
            let mean = ranks[1].0.reduce(0, +) / Float(microBatches)
            #expect(abs(mean - (try reference.item(Float.self))) < 1e-5)
            let grads = ranks[0].1.merging(ranks[1].1) { a, _ in a }
            #expect(Set(grads.keys) == Set(referenceGrads.keys))
            for (name, gradient) in grads {
                let difference = try Self.relativeDifference(gradient, referenceGrads[name]!)
                #expect(difference < 1e-5, "\(name): \(difference)")
            }
        }
    }

    /// Evaluation runs the stages forward without gradients and gives the last stage the loss of each micro batch.
    @Test func evaluationThroughThePipelineGivesTheOneRankLoss() throws {
        let whole = try GPT2LLM(config: Self.config, seed: 3)
        try Self.initializer.initialize(whole, seed: 3)
        let (samples, targets) = try Self.batch()
        let reference = try Autograd.noGrad { try Self.loss(try whole.forward(samples, training: false), targets, nil) }
        let layouts = try PipelineStagesGenerator(layerCount: 6).layouts(layersPerStage: 2, pipelineDegree: 2)
        let schedule = try PipelineSchedule(kind: .interleaved1F1B, ranks: 2, stageCount: 4, microBatches: 2)
        let losses = try ThreadPipelineMailbox(size: 2).run { member -> [Float] in
            let stages = try schedule.stages(of: member.rank).map {
                PipelineStage(layout: layouts[$0], model: try whole.splitForPipeline(layouts[$0]))
            }
            let pipeline = try ScheduledPipeline(schedule: schedule, stages: stages, transport: member, loss: Self.loss)
            return try pipeline.evaluate(samples: samples, targets: targets).map { try $0.item(Float.self) }
        }
        #expect(losses[0].isEmpty)
        #expect(abs(losses[1].reduce(0, +) / 2 - (try reference.item(Float.self))) < 1e-5)
    }

    /// A stage split from an initialised model holds exactly its values; tied weights cannot be split over stages.
    @Test func stagesHoldTheirPartOfTheModel() throws {
        let whole = try GPT2LLM(config: Self.gpt2Config, seed: 3)
        try Self.initializer.initialize(whole, seed: 3)
        let layouts = try PipelineStagesGenerator(layerCount: 6).layouts(layersPerStage: 4, pipelineDegree: 2)
        let first = try whole.splitForPipeline(layouts[0])
        let second = try whole.splitForPipeline(layouts[1])
        #expect(first.parameters.names.first == "transformer.wte.weight")
        #expect(first.parameters.names.contains("transformer.wpe.weight"))
        #expect(first.blockParameterPrefix(first.blockCount - 1) == "transformer.h.2.")
        #expect(second.blockParameterPrefix(0) == "transformer.h.3.")
        #expect(second.parameters.names.last == "transformer.lm_head.weight")
        #expect(first.parameters.names.count + second.parameters.names.count == whole.parameters.names.count)
        for stage in [first, second] {
            for (name, tensor) in stage.parameters.named {
                #expect(try tensor.equal(whole.parameters.tensors[name]!), "\(name)")
            }
        }
        var tied = Self.gpt2Config
        tied.weightTying = true
        #expect(throws: ModelError.self) { try GPT2LLM(config: tied, seed: 3).splitForPipeline(layouts[1]) }
    }
}
