/// What a pipeline rank does, in order, during one training step: the forward and backward of each micro batch
/// on each stage it holds, as PyTorch's `torch.distributed.pipelining` schedules order them. Zero-bubble schedules
/// split each backward in two: the gradient of the stage's input, which the previous stage waits for, and the
/// gradients of its weights, which nothing waits for and which fill the bubbles.
///
/// Activations travel forward and gradients backward between the ranks of neighbouring stages; a rank posts its
/// sends without waiting and waits only on the receives its next action needs, so an order is valid when no rank
/// waits on a receive whose send comes after it. ``simulate(forwardCost:backwardCost:)`` checks that and measures
/// the bubble.
public struct PipelineSchedule: Sendable, Equatable {
    /// The schedules `pp_schedule_name` names, as PyTorch's `get_schedule_class` knows them (matched ignoring case).
    public enum Kind: String, CaseIterable, Sendable {
        case gpipe = "GPipe"
        case oneForwardOneBackward = "1F1B"
        case interleaved1F1B = "Interleaved1F1B"
        case loopedBFS = "LoopedBFS"
        case interleavedZeroBubble = "InterleavedZeroBubble"
        case zbvZeroBubble = "ZBVZeroBubble"
        case dualPipeV = "DualPipeV"
        case pipelineScheduleSingle = "PipelineScheduleSingle"
        case pipelineScheduleMulti = "PipelineScheduleMulti"

        /// The schedule `name` names, ignoring case.
        ///
        /// - Throws: ``ParallelismError/invalidConfig(_:)`` listing the known names for an unknown one, and naming
        ///   the ones this version runs for a known one it does not.
        public init(name: String) throws {
            guard let kind = Kind.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw ParallelismError.invalidConfig(
                    "unknown pp_schedule_name '\(name)'; PyTorch's schedules are \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard kind.isAvailable else {
                throw ParallelismError.invalidConfig(
                    "pp_schedule_name \(kind.rawValue) is not available yet; use one of \(Kind.allCases.filter(\.isAvailable).map(\.rawValue).joined(separator: ", "))"
                )
            }
            self = kind
        }

        /// Whether this version runs the schedule.
        public var isAvailable: Bool {
            [.gpipe, .oneForwardOneBackward, .interleaved1F1B, .loopedBFS, .interleavedZeroBubble].contains(self)
        }

        /// Whether a rank holds several stages (PyTorch's `PipelineScheduleMulti`) rather than exactly one.
        public var holdsSeveralStages: Bool { ![.gpipe, .oneForwardOneBackward, .pipelineScheduleSingle].contains(self) }
    }

    /// One step of a rank's work.
    public enum Action: Hashable, Sendable, CustomStringConvertible {
        case forward(stage: Int, microBatch: Int)
        /// The whole backward: input and weight gradients.
        case backward(stage: Int, microBatch: Int)
        /// The gradient of the stage's input only (PyTorch's BACKWARD_INPUT, "I").
        case backwardInput(stage: Int, microBatch: Int)
        /// The gradients of the stage's weights, after its ``backwardInput(stage:microBatch:)`` (BACKWARD_WEIGHT, "W").
        case backwardWeight(stage: Int, microBatch: Int)

        public var stage: Int {
            switch self {
            case .forward(let stage, _), .backward(let stage, _), .backwardInput(let stage, _), .backwardWeight(let stage, _):
                return stage
            }
        }

        public var microBatch: Int {
            switch self {
            case .forward(_, let microBatch), .backward(_, let microBatch), .backwardInput(_, let microBatch),
                .backwardWeight(_, let microBatch):
                return microBatch
            }
        }

        public var description: String {
            switch self {
            case .forward(let stage, let microBatch): return "F\(stage).\(microBatch)"
            case .backward(let stage, let microBatch): return "B\(stage).\(microBatch)"
            case .backwardInput(let stage, let microBatch): return "I\(stage).\(microBatch)"
            case .backwardWeight(let stage, let microBatch): return "W\(stage).\(microBatch)"
            }
        }
    }

    public let kind: Kind
    /// Ranks in the pipeline (the mesh's pp degree).
    public let ranks: Int
    /// Stages over all ranks.
    public let stageCount: Int
    /// Micro batches per step.
    public let microBatches: Int

    /// - Throws: ``ParallelismError/invalidConfig(_:)`` when the stages do not spread evenly over the ranks, a
    ///   single-stage schedule gets several stages per rank, or the micro batches do not suit the schedule.
    public init(kind: Kind, ranks: Int, stageCount: Int, microBatches: Int) throws {
        guard ranks >= 1, microBatches >= 1 else {
            throw ParallelismError.invalidConfig(
                "a pipeline needs at least one rank and one micro batch (found \(ranks) and \(microBatches))")
        }
        guard stageCount >= ranks, stageCount % ranks == 0 else {
            throw ParallelismError.invalidConfig(
                "\(stageCount) pipeline stages do not spread evenly over pipeline_parallel_degree \(ranks) ranks")
        }
        if !kind.holdsSeveralStages && stageCount != ranks {
            throw ParallelismError.invalidConfig(
                "\(kind.rawValue) runs one stage per rank, but there are \(stageCount) stages for \(ranks) ranks: choose num_layers_per_stage so that the stages equal pipeline_parallel_degree, or an interleaved schedule (Interleaved1F1B, LoopedBFS)"
            )
        }
        if kind == .interleaved1F1B || kind == .interleavedZeroBubble {
            // PyTorch's rule: micro batches run in rounds of (at most) one per rank.
            let rounds = Swift.max(1, microBatches / ranks)
            guard microBatches % rounds == 0 else {
                throw ParallelismError.invalidConfig(
                    "\(kind.rawValue) needs the micro batches (\(microBatches) = batch_size / microbatch_size) to be a multiple of their rounds (\(rounds)) over \(ranks) ranks"
                )
            }
        }
        self.kind = kind
        self.ranks = ranks
        self.stageCount = stageCount
        self.microBatches = microBatches
    }

    /// Stages each rank holds.
    public var stagesPerRank: Int { stageCount / ranks }

    /// The stages `rank` holds, in order: `rank`, `rank + ranks`, … (PyTorch's "loop" style).
    public func stages(of rank: Int) -> [Int] { (0..<stagesPerRank).map { rank + $0 * ranks } }

    /// The rank that holds `stage`.
    public func rank(of stage: Int) -> Int { stage % ranks }

    /// What `rank` does in one step, in order.
    public func actions(of rank: Int) -> [Action] {
        let m = microBatches
        let stages = stages(of: rank)
        switch kind {
        case .gpipe:
            return (0..<m).map { .forward(stage: stages[0], microBatch: $0) } + (0..<m).map { .backward(stage: stages[0], microBatch: $0) }
        case .oneForwardOneBackward:
            let stage = stages[0]
            let warmup = Swift.min(ranks - 1 - rank, m)
            var actions: [Action] = (0..<warmup).map { .forward(stage: stage, microBatch: $0) }
            for step in 0..<(m - warmup) {
                actions.append(.forward(stage: stage, microBatch: warmup + step))
                actions.append(.backward(stage: stage, microBatch: step))
            }
            return actions + ((m - warmup)..<m).map { .backward(stage: stage, microBatch: $0) }
        case .loopedBFS:
            let forwards = stages.flatMap { stage in (0..<m).map { Action.forward(stage: stage, microBatch: $0) } }
            let backwards = stages.reversed().flatMap { stage in (0..<m).reversed().map { Action.backward(stage: stage, microBatch: $0) } }
            return forwards + backwards
        case .interleaved1F1B:
            return interleavedActions(of: rank, stages: stages)
        case .interleavedZeroBubble:
            return zeroBubbleActions(of: rank, stages: stages)
        case .zbvZeroBubble, .dualPipeV, .pipelineScheduleSingle, .pipelineScheduleMulti:
            preconditionFailure("\(kind.rawValue) is refused by init(name:)")
        }
    }

    /// Megatron's interleaved 1F1B as PyTorch orders it: micro batches in rounds, each round through one local stage
    /// after the other; a warm-up of forwards, then one forward and one backward in turn, then the remaining
    /// backwards (the backwards visit the local stages last to first).
    private func interleavedActions(of rank: Int, stages: [Int]) -> [Action] {
        let m = microBatches
        let v = stages.count
        let perRound = m / Swift.max(1, m / ranks)
        let total = m * v
        let warmup = Swift.min(total, (v - 1) * perRound + 2 * (ranks - 1 - rank))
        var nextForward = [Int](repeating: 0, count: v)
        var nextBackward = [Int](repeating: 0, count: v)
        func forward(_ step: Int) -> Action {
            let local = (step / perRound) % v
            defer { nextForward[local] += 1 }
            return .forward(stage: stages[local], microBatch: nextForward[local])
        }
        func backward(_ step: Int) -> Action {
            let local = v - 1 - (step / perRound) % v
            defer { nextBackward[local] += 1 }
            return .backward(stage: stages[local], microBatch: nextBackward[local])
        }
        var actions = (0..<warmup).map(forward)
        for step in 0..<(total - warmup) {
            actions.append(forward(warmup + step))
            actions.append(backward(step))
        }
        actions += ((total - warmup)..<total).map(backward)
        return actions
    }

    /// PyTorch's `ScheduleInterleavedZeroBubble` (ZB1P on interleaved stages): the interleaved order with a warm-up of
    /// one forward per hop from the last rank (not two), each backward split into its input gradient (I) and its
    /// weight gradients (W); a rank holds back its first `rank` weight gradients and runs one after each later I, and
    /// the rest at the end, where the other ranks would otherwise wait.
    private func zeroBubbleActions(of rank: Int, stages: [Int]) -> [Action] {
        let m = microBatches
        let v = stages.count
        let perRound = m / Swift.max(1, m / ranks)
        let total = m * v
        let warmup = Swift.min(total, (v - 1) * perRound + (ranks - 1 - rank))
        func forwardStage(_ step: Int) -> Int { stages[(step / perRound) % v] }
        func backwardStage(_ step: Int) -> Int { stages[v - 1 - ((step - warmup) / perRound) % v] }
        var next: [String: Int] = [:]
        func count(_ kind: String, _ stage: Int) -> Int {
            defer { next["\(kind)\(stage)", default: 0] += 1 }
            return next["\(kind)\(stage)", default: 0]
        }
        var actions: [Action] = []
        var backwardSteps: [Int] = []
        var weights = 0
        func weight() {
            let stage = backwardStage(backwardSteps[weights])
            actions.append(.backwardWeight(stage: stage, microBatch: count("W", stage)))
            weights += 1
        }
        for step in 0..<(total + warmup) {
            if step < warmup {
                let stage = forwardStage(step)
                actions.append(.forward(stage: stage, microBatch: count("F", stage)))
                continue
            }
            if step < total {
                let stage = forwardStage(step)
                actions.append(.forward(stage: stage, microBatch: count("F", stage)))
            }
            let stage = backwardStage(step)
            actions.append(.backwardInput(stage: stage, microBatch: count("I", stage)))
            backwardSteps.append(step)
            if step - warmup >= rank { weight() }
        }
        while weights < backwardSteps.count { weight() }
        return actions
    }
}

extension PipelineSchedule {
    /// The outcome of running every rank's actions with the given costs (sends take no time).
    public struct Simulation: Sendable, Equatable {
        /// Time from the first action to the last rank's end.
        public let makespan: Double
        /// The share of the ranks' time spent waiting: 1 − work / (ranks × makespan).
        public let bubbleFraction: Double
    }

    /// Runs the schedule on paper: each rank takes its actions in order, a forward waits for the previous stage's
    /// forward of the micro batch, a backward (or input gradient) for the next stage's one, a weight gradient for its
    /// own input gradient. Split backwards cost half of `backwardCost` each.
    ///
    /// - Throws: ``ParallelismError/invalidConfig(_:)`` when some rank would wait forever (an invalid order).
    public func simulate(forwardCost: Double = 1, backwardCost: Double = 2) throws -> Simulation {
        var done: [Action: Double] = [:]
        var clock = [Double](repeating: 0, count: ranks)
        var position = [Int](repeating: 0, count: ranks)
        let plans = (0..<ranks).map { actions(of: $0) }
        var remaining = plans.reduce(0) { $0 + $1.count }
        /// What `action` waits for: the actions of which one must be done (the next stage's backward, whole or
        /// split), and the one that must be done.
        func dependencies(_ action: Action) -> (anyOf: [Action], required: Action?) {
            switch action {
            case .forward(let stage, let microBatch):
                return ([], stage == 0 ? nil : .forward(stage: stage - 1, microBatch: microBatch))
            case .backward(let stage, let microBatch), .backwardInput(let stage, let microBatch):
                guard stage < stageCount - 1 else { return ([], .forward(stage: stage, microBatch: microBatch)) }
                return (
                    [.backward(stage: stage + 1, microBatch: microBatch), .backwardInput(stage: stage + 1, microBatch: microBatch)],
                    .forward(stage: stage, microBatch: microBatch)
                )
            case .backwardWeight(let stage, let microBatch):
                return ([], .backwardInput(stage: stage, microBatch: microBatch))
            }
        }
        while remaining > 0 {
            var progressed = false
            for rank in 0..<ranks where position[rank] < plans[rank].count {
                let action = plans[rank][position[rank]]
                let (anyOf, required) = dependencies(action)
                var start = clock[rank]
                if let required {
                    guard let finished = done[required] else { continue }
                    start = Swift.max(start, finished)
                }
                if !anyOf.isEmpty {
                    guard let finished = anyOf.compactMap({ done[$0] }).min() else { continue }
                    start = Swift.max(start, finished)
                }
                let cost: Double
                switch action {
                case .forward: cost = forwardCost
                case .backward: cost = backwardCost
                case .backwardInput, .backwardWeight: cost = backwardCost / 2
                }
                clock[rank] = start + cost
                done[action] = clock[rank]
                position[rank] += 1
                remaining -= 1
                progressed = true
            }
            guard progressed else {
                let waiting = (0..<ranks).filter { position[$0] < plans[$0].count }.map { "rank \($0) at \(plans[$0][position[$0]])" }
                throw ParallelismError.invalidConfig("\(kind.rawValue) would deadlock: \(waiting.joined(separator: ", "))")
            }
        }
        let makespan = clock.max() ?? 0
        let work = Double(stagesPerRank * microBatches) * (forwardCost + backwardCost) * Double(ranks)
        return Simulation(makespan: makespan, bubbleFraction: makespan > 0 ? 1 - work / (Double(ranks) * makespan) : 0)
    }
}
