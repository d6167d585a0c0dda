import Config
import Models
import Training

struct AdamConfig: Decodable {
    var lr: Double
    var wrappedModel: ComponentSlot<any Model>
    var betas: [Double]
    var eps: Double
    var weightDecay: Double
    var weightDecayGroupsExcluded: [String]

    enum CodingKeys: String, CodingKey {
        case lr, wrappedModel = "wrapped_model", betas, eps, weightDecay = "weight_decay"
        case weightDecayGroupsExcluded = "weight_decay_groups_excluded", foreach, fused
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lr = try c.decode(Double.self, forKey: .lr)
        wrappedModel = try c.decode(ComponentSlot<any Model>.self, forKey: .wrappedModel)
        betas = try c.decode([Double].self, forKey: .betas)
        eps = try c.decode(Double.self, forKey: .eps)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        weightDecayGroupsExcluded = try c.decode([String].self, forKey: .weightDecayGroupsExcluded)
        // libtorch's fused kernels are always used; the switches are accepted for Modalities' configs.
        _ = try c.decodeIfPresent(Bool.self, forKey: .foreach)
        _ = try c.decodeIfPresent(Bool.self, forKey: .fused)
        guard betas.count == 2 else { throw ConfigValueError("betas must be two numbers, found \(betas.count)") }
        // PyTorch refuses a negative or NaN lr, eps and weight decay (`not 0.0 <= lr`); an infinite one cannot train.
        guard [lr, eps, weightDecay].allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw ConfigValueError("lr, eps and weight_decay must be finite and not negative, found \(lr), \(eps) and \(weightDecay)")
        }
        guard betas.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw ConfigValueError("betas must be in [0, 1), found \(betas)") }
    }
}

/// The scheduler fields shared by every variant: the optimizer and PyTorch's `last_epoch`.
struct SchedulerConfig<Parameters: Decodable>: Decodable {
    var optimizer: ComponentSlot<AdamOptimizer>
    var lastEpoch: Int
    var parameters: Parameters

    enum CodingKeys: String, CodingKey { case optimizer, lastEpoch = "last_epoch" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        optimizer = try c.decode(ComponentSlot<AdamOptimizer>.self, forKey: .optimizer)
        lastEpoch = try c.decodeIfPresent(Int.self, forKey: .lastEpoch) ?? -1
        guard lastEpoch >= -1 else { throw ConfigValueError("last_epoch must be -1 or greater, found \(lastEpoch)") }
        parameters = try Parameters(from: decoder)
    }
}

struct NoScheduleParameters: Decodable {
    init(from decoder: Decoder) throws {}
}

struct StepParameters: Decodable {
    var stepSize: PositiveInt
    var gamma: Double
    enum CodingKeys: String, CodingKey { case stepSize = "step_size", gamma }
}

struct ConstantParameters: Decodable {
    var factor: Double
    var totalIters: PositiveInt
    enum CodingKeys: String, CodingKey { case factor, totalIters = "total_iters" }
}

struct LinearParameters: Decodable {
    var startFactor: Double
    var endFactor: Double
    var totalIters: PositiveInt
    enum CodingKeys: String, CodingKey { case startFactor = "start_factor", endFactor = "end_factor", totalIters = "total_iters" }
}

struct CosineParameters: Decodable {
    var tMax: PositiveInt
    var etaMin: Double
    enum CodingKeys: String, CodingKey { case tMax = "t_max", etaMin = "eta_min" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tMax = try c.decode(PositiveInt.self, forKey: .tMax)
        etaMin = try c.decode(Double.self, forKey: .etaMin)
        guard etaMin >= 0 && etaMin.isFinite else { throw ConfigValueError("eta_min must be finite and not negative, found \(etaMin)") }
    }
}

struct OneCycleParameters: Decodable {
    enum Anneal: String, ConfigEnum { case cos, linear }
    var maxLR: Double
    var totalSteps: PositiveInt
    var pctStart: Double
    var annealStrategy: Anneal
    var divFactor: Double
    var finalDivFactor: Double
    /// `cycle_momentum`: Adam's beta1 cycles between `base_momentum` and `max_momentum`. Modalities main's default is
    /// off; its 0.5.0 release (and PyTorch) had it on, so configs written for 0.5.0 that relied on it say so.
    var momentum: MomentumCycle?

    enum CodingKeys: String, CodingKey {
        case maxLR = "max_lr", totalSteps = "total_steps", pctStart = "pct_start", annealStrategy = "anneal_strategy"
        case divFactor = "div_factor", finalDivFactor = "final_div_factor", threePhase = "three_phase"
        case cycleMomentum = "cycle_momentum", baseMomentum = "base_momentum", maxMomentum = "max_momentum"
        case epochs, stepsPerEpoch = "steps_per_epoch"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxLR = try c.decode(Double.self, forKey: .maxLR)
        totalSteps = try c.decode(PositiveInt.self, forKey: .totalSteps)
        pctStart = try c.decode(Double.self, forKey: .pctStart)
        annealStrategy = try c.decode(Anneal.self, forKey: .annealStrategy)
        divFactor = try c.decodeIfPresent(Double.self, forKey: .divFactor) ?? 25
        finalDivFactor = try c.decodeIfPresent(Double.self, forKey: .finalDivFactor) ?? 1e4
        let threePhase = try c.decodeIfPresent(Bool.self, forKey: .threePhase) ?? false
        let base = try c.decodeIfPresent(Double.self, forKey: .baseMomentum) ?? 0.85
        let max = try c.decodeIfPresent(Double.self, forKey: .maxMomentum) ?? 0.95
        let cycleMomentum = try c.decodeIfPresent(Bool.self, forKey: .cycleMomentum) ?? false
        _ = try c.decodeIfPresent(Int.self, forKey: .epochs)
        _ = try c.decodeIfPresent(Int.self, forKey: .stepsPerEpoch)
        // Every field is read before the checks, so each is known (and listed in the component reference).
        // Modalities: max_lr, div_factor and final_div_factor greater than 0 (a NaN fails that too); infinity cannot train.
        guard [maxLR, divFactor, finalDivFactor].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ConfigValueError("max_lr, div_factor and final_div_factor must be finite and greater than 0, found \(maxLR), \(divFactor) and \(finalDivFactor)")
        }
        if threePhase { throw ConfigValueError("three_phase one-cycle schedules are not supported") }
        guard base > 0 && max > 0 else { throw ConfigValueError("base_momentum and max_momentum must be greater than 0, found \(base) and \(max)") }
        momentum = cycleMomentum ? MomentumCycle(base: base, max: max) : nil
        guard pctStart > 0 && pctStart <= 1 else { throw ConfigValueError("pct_start must be in (0, 1], found \(pctStart)") }
        // The warm-up phase ends at step pct_start · total_steps − 1. Below 1 there is no warm-up (PyTorch anneals from
        // the first step); at exactly 1 PyTorch divides zero by zero at its first step.
        guard pctStart * Double(totalSteps.value) != 1 else {
            throw ConfigValueError("pct_start × total_steps is exactly 1: PyTorch's OneCycleLR divides by zero at the first step")
        }
    }
}

struct WarmupCosineParameters: Decodable {
    var warmupSteps: PositiveInt
    var totalSteps: PositiveInt
    var initialLR: Double
    var finalLR: Double

    enum CodingKeys: String, CodingKey { case warmupSteps = "warmup_steps", totalSteps = "total_steps", initialLR = "initial_lr", finalLR = "final_lr" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        warmupSteps = try c.decode(PositiveInt.self, forKey: .warmupSteps)
        totalSteps = try c.decode(PositiveInt.self, forKey: .totalSteps)
        initialLR = try c.decode(Double.self, forKey: .initialLR)
        finalLR = try c.decode(Double.self, forKey: .finalLR)
        guard totalSteps.value > warmupSteps.value else {
            throw ConfigValueError("total_steps (\(totalSteps.value)) must exceed warmup_steps (\(warmupSteps.value))")
        }
        guard initialLR > 0, finalLR >= 0, initialLR.isFinite, finalLR.isFinite else { throw ConfigValueError("initial_lr must be greater than 0 and final_lr 0 or greater (PyTorch's LinearLR needs a positive start)") }
    }
}

struct CLMCrossEntropyLossConfig: Decodable {
    var targetKey: String
    var predictionKey: String

    enum CodingKeys: String, CodingKey { case targetKey = "target_key", predictionKey = "prediction_key" }
}

extension ComponentRegistry {
    /// The loss, optimizers and learning-rate schedulers with Modalities' fields.
    func registerTraining() {
        register("loss", "clm_cross_entropy_loss", summary: "mean next-token cross entropy; predictions and targets by key",
                 config: CLMCrossEntropyLossConfig.self, produces: [CLMCrossEntropyLoss.self, (any Loss).self]) { config, _ in
            CLMCrossEntropyLoss(targetKey: config.targetKey, predictionKey: config.predictionKey)
        }
        for (variant, decoupled) in [("adam", false), ("adam_w", true)] {
            register("optimizer", variant, summary: decoupled ? "AdamW on libtorch's fused kernel" : "Adam on libtorch's fused kernel",
                     config: AdamConfig.self, produces: [AdamOptimizer.self]) { config, context in
                try AdamOptimizer(model: context.build(config.wrappedModel), learningRate: config.lr, betas: (config.betas[0], config.betas[1]),
                                  eps: config.eps, weightDecay: config.weightDecay, excludedGroups: config.weightDecayGroupsExcluded,
                                  decoupledWeightDecay: decoupled)
            }
        }
        func scheduler<P: Decodable>(_ variant: String, _ summary: String, _ parameters: P.Type,
                                     _ schedule: @escaping (P) -> LearningRateSchedule) {
            register("scheduler", variant, summary: summary, config: SchedulerConfig<P>.self,
                     produces: [LearningRateScheduler.self]) { config, context in
                LearningRateScheduler(optimizer: try context.build(config.optimizer), schedule: schedule(config.parameters),
                                      lastEpoch: config.lastEpoch)
            }
        }
        scheduler("dummy_lr", "the base rate throughout", NoScheduleParameters.self) { _ in .constantBase }
        scheduler("step_lr", "multiplied by gamma every step_size steps", StepParameters.self) {
            .step(stepSize: $0.stepSize.value, gamma: $0.gamma)
        }
        scheduler("constant_lr", "factor × base for total_iters steps", ConstantParameters.self) {
            .constant(factor: $0.factor, totalIters: $0.totalIters.value)
        }
        scheduler("linear_lr", "from start_factor to end_factor × base over total_iters", LinearParameters.self) {
            .linear(startFactor: $0.startFactor, endFactor: $0.endFactor, totalIters: $0.totalIters.value)
        }
        scheduler("cosine_annealing_lr", "half a cosine down to eta_min over t_max steps", CosineParameters.self) {
            .cosineAnnealing(tMax: $0.tMax.value, etaMin: $0.etaMin)
        }
        scheduler("linear_warmup_cosine_annealing_lr", "linear warm-up from initial_lr to lr, then cosine down to final_lr at total_steps",
                  WarmupCosineParameters.self) {
            .linearWarmupCosineAnnealing(warmupSteps: $0.warmupSteps.value, totalSteps: $0.totalSteps.value, initialLR: $0.initialLR, finalLR: $0.finalLR)
        }
        scheduler("onecycle_lr", "PyTorch's two-phase one-cycle schedule", OneCycleParameters.self) {
            .oneCycle(maxLR: $0.maxLR, totalSteps: $0.totalSteps.value, pctStart: $0.pctStart, cosine: $0.annealStrategy == .cos,
                      divFactor: $0.divFactor, finalDivFactor: $0.finalDivFactor, momentum: $0.momentum)
        }
    }
}
