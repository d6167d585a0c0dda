import Config
import Distributed
import Models
import Training

struct AdamConfig: DeclaredConfig {
    @Field("lr") var lr: Double
    @Field("wrapped_model") var wrappedModel: ComponentSlot<any Model>
    @Field("betas") var betas: [Double]
    @Field("eps") var eps: Double
    @Field("weight_decay") var weightDecay: Double
    @Field("weight_decay_groups_excluded") var weightDecayGroupsExcluded: [String]
    @Field("foreach", ignored: "libtorch's multi-tensor kernels are always used") var foreach: Bool? = nil
    @Field("fused", ignored: "libtorch's multi-tensor kernels are always used") var fused: Bool? = nil

    func validate() throws {
        guard betas.count == 2 else { throw ConfigValueError("betas must be two numbers, found \(betas.count)") }
        // PyTorch refuses a negative or NaN lr, eps and weight decay (`not 0.0 <= lr`); an infinite one cannot train.
        guard [lr, eps, weightDecay].allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw ConfigValueError("lr, eps and weight_decay must be finite and not negative, found \(lr), \(eps) and \(weightDecay)")
        }
        guard betas.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw ConfigValueError("betas must be in [0, 1), found \(betas)") }
    }
}

/// The scheduler fields shared by every variant: the optimizer and PyTorch's `last_epoch`.
struct SchedulerConfig<Parameters: DeclaredConfig>: DeclaredConfig {
    @Field("optimizer") var optimizer: ComponentSlot<any Optimizer>
    @Field("last_epoch") var lastEpoch = -1
    @Fields var parameters: Parameters

    func validate() throws {
        guard lastEpoch >= -1 else { throw ConfigValueError("last_epoch must be -1 or greater, found \(lastEpoch)") }
    }
}

struct NoScheduleParameters: DeclaredConfig {}

struct StepParameters: DeclaredConfig {
    @Field("step_size") var stepSize: PositiveInt
    @Field("gamma") var gamma: Double
}

struct ConstantParameters: DeclaredConfig {
    @Field("factor") var factor: Double
    @Field("total_iters") var totalIters: PositiveInt
}

struct LinearParameters: DeclaredConfig {
    @Field("start_factor") var startFactor: Double
    @Field("end_factor") var endFactor: Double
    @Field("total_iters") var totalIters: PositiveInt
}

struct CosineParameters: DeclaredConfig {
    @Field("t_max") var tMax: PositiveInt
    @Field("eta_min") var etaMin: Double

    func validate() throws {
        guard etaMin >= 0 && etaMin.isFinite else { throw ConfigValueError("eta_min must be finite and not negative, found \(etaMin)") }
    }
}

struct OneCycleParameters: DeclaredConfig {
    enum Anneal: String, ConfigEnum { case cos, linear }
    @Field("max_lr") var maxLR: Double
    @Field("total_steps") var totalSteps: PositiveInt
    @Field("pct_start") var pctStart: Double
    @Field("anneal_strategy") var annealStrategy: Anneal
    @Field("div_factor") var divFactor = 25.0
    @Field("final_div_factor") var finalDivFactor = 1e4
    @Field("three_phase") var threePhase = false
    /// `cycle_momentum`: Adam's beta1 cycles between `base_momentum` and `max_momentum`. Modalities main's default is
    /// off; its 0.5.0 release (and PyTorch) had it on, so configs written for 0.5.0 that relied on it say so.
    @Field("cycle_momentum") var cycleMomentum = false
    @Field("base_momentum") var baseMomentum = 0.85
    @Field("max_momentum") var maxMomentum = 0.95
    @Field("epochs", ignored: "the schedule's length is total_steps") var epochs: Int? = nil
    @Field("steps_per_epoch", ignored: "the schedule's length is total_steps") var stepsPerEpoch: Int? = nil

    var momentum: MomentumCycle? { cycleMomentum ? MomentumCycle(base: baseMomentum, max: maxMomentum) : nil }

    func validate() throws {
        // Modalities: max_lr, div_factor and final_div_factor greater than 0 (a NaN fails that too); infinity cannot train.
        guard [maxLR, divFactor, finalDivFactor].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ConfigValueError(
                "max_lr, div_factor and final_div_factor must be finite and greater than 0, found \(maxLR), \(divFactor) and \(finalDivFactor)"
            )
        }
        if threePhase { throw ConfigValueError("three_phase one-cycle schedules are not supported") }
        guard baseMomentum > 0 && maxMomentum > 0 else {
            throw ConfigValueError("base_momentum and max_momentum must be greater than 0, found \(baseMomentum) and \(maxMomentum)")
        }
        guard pctStart > 0 && pctStart <= 1 else { throw ConfigValueError("pct_start must be in (0, 1], found \(pctStart)") }
        // The warm-up phase ends at step pct_start · total_steps − 1. Below 1 there is no warm-up (PyTorch anneals from
        // the first step); at exactly 1 PyTorch divides zero by zero at its first step.
        guard pctStart * Double(totalSteps.value) != 1 else {
            throw ConfigValueError("pct_start × total_steps is exactly 1: PyTorch's OneCycleLR divides by zero at the first step")
        }
    }
}

struct WarmupCosineParameters: DeclaredConfig {
    @Field("warmup_steps") var warmupSteps: PositiveInt
    @Field("total_steps") var totalSteps: PositiveInt
    @Field("initial_lr") var initialLR: Double
    @Field("final_lr") var finalLR: Double

    func validate() throws {
        guard totalSteps.value > warmupSteps.value else {
            throw ConfigValueError("total_steps (\(totalSteps.value)) must exceed warmup_steps (\(warmupSteps.value))")
        }
        guard initialLR > 0, finalLR >= 0, initialLR.isFinite, finalLR.isFinite else {
            throw ConfigValueError(
                "initial_lr must be greater than 0 and final_lr 0 or greater (PyTorch's LinearLR needs a positive start)")
        }
    }
}

struct CLMCrossEntropyLossConfig: DeclaredConfig {
    @Field("target_key") var targetKey: String
    @Field("prediction_key") var predictionKey: String
}

struct GradientClipperConfig: DeclaredConfig {
    enum NormType: String, ConfigEnum { case P1_NORM, P2_NORM, MAX_NORM }

    /// The model to clip: `model_parts` (Modalities main) or `wrapped_model` (FSDP1 and older configs).
    @Field("model_parts") var modelParts: ComponentSlot<any Model>?
    @Field("wrapped_model") var wrappedModel: ComponentSlot<any Model>?
    @Field("norm_type") var normType: NormType
    @Field("max_norm") var maxNorm: Double?
    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>?

    var model: ComponentSlot<any Model> { (modelParts ?? wrappedModel)! }

    func validate() throws {
        guard modelParts != nil || wrappedModel != nil else {
            throw ConfigValueError("needs the model to clip as model_parts (or wrapped_model)")
        }
        guard modelParts == nil || wrappedModel == nil else {
            throw ConfigValueError("give the model as model_parts or wrapped_model, not both")
        }
        if let maxNorm, !(maxNorm > 0) { throw ConfigValueError("max_norm must be greater than 0, found \(maxNorm)") }
    }

    var gradientNormType: GradientNormType { GradientNormType(rawValue: normType.rawValue)! }
}

struct ClipperWithMaxNorm: DeclaredConfig {
    @Fields var base: GradientClipperConfig

    func validate() throws {
        guard base.maxNorm != nil else {
            throw ConfigValueError("max_norm is required (use the *_logging_only variant to measure without clipping)")
        }
    }
}

extension ComponentRegistry {
    /// The loss, optimizers and learning-rate schedulers with Modalities' fields.
    func registerTraining() {
        let clippers: [(String, Bool, String)] = [
            ("fsdp2", true, "scales gradients to max_norm (total p-norm over all parameters)"),
            ("fsdp2_logging_only", false, "measures the total gradient norm without clipping"),
            ("fsdp1", true, "scales gradients to max_norm (FSDP1 models)"),
            ("fsdp1_logging_only", false, "measures the total gradient norm without clipping (FSDP1 models)"),
        ]
        for (variant, clips, summary) in clippers {
            if clips {
                register("gradient_clipper", variant, summary: summary, config: ClipperWithMaxNorm.self, produces: [GradientClipper.self]) {
                    config, context in
                    _ = try context.build(config.base.deviceMesh)
                    return try GradientClipper(
                        model: context.build(config.base.model), normType: config.base.gradientNormType, maxNorm: config.base.maxNorm)
                }
            } else {
                register(
                    "gradient_clipper", variant, summary: summary, config: GradientClipperConfig.self, produces: [GradientClipper.self]
                ) { config, context in
                    _ = try context.build(config.deviceMesh)
                    return try GradientClipper(model: context.build(config.model), normType: config.gradientNormType, maxNorm: nil)
                }
            }
        }
        register(
            "loss", "clm_cross_entropy_loss", summary: "mean next-token cross entropy; predictions and targets by key",
            config: CLMCrossEntropyLossConfig.self, produces: [CLMCrossEntropyLoss.self, (any Loss).self]
        ) { config, _ in
            CLMCrossEntropyLoss(targetKey: config.targetKey, predictionKey: config.predictionKey)
        }
        for (variant, decoupled) in [("adam", false), ("adam_w", true)] {
            register(
                "optimizer", variant, summary: decoupled ? "AdamW on libtorch's fused kernel" : "Adam on libtorch's fused kernel",
                config: AdamConfig.self, produces: [AdamOptimizer.self, (any Optimizer).self]
            ) { config, context in
                try AdamOptimizer(
                    model: context.build(config.wrappedModel), learningRate: config.lr, betas: (config.betas[0], config.betas[1]),
                    eps: config.eps, weightDecay: config.weightDecay, excludedGroups: config.weightDecayGroupsExcluded,
                    decoupledWeightDecay: decoupled)
            }
        }
        func scheduler<P: DeclaredConfig>(
            _ variant: String, _ summary: String, _ parameters: P.Type,
            _ schedule: @escaping (P) -> LearningRateSchedule
        ) {
            register(
                "scheduler", variant, summary: summary, config: SchedulerConfig<P>.self,
                produces: [LearningRateScheduler.self]
            ) { config, context in
                LearningRateScheduler(
                    optimizer: try context.build(config.optimizer), schedule: schedule(config.parameters),
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
        scheduler(
            "linear_warmup_cosine_annealing_lr", "linear warm-up from initial_lr to lr, then cosine down to final_lr at total_steps",
            WarmupCosineParameters.self
        ) {
            .linearWarmupCosineAnnealing(
                warmupSteps: $0.warmupSteps.value, totalSteps: $0.totalSteps.value, initialLR: $0.initialLR, finalLR: $0.finalLR)
        }
        scheduler("onecycle_lr", "PyTorch's two-phase one-cycle schedule", OneCycleParameters.self) {
            .oneCycle(
                maxLR: $0.maxLR, totalSteps: $0.totalSteps.value, pctStart: $0.pctStart, cosine: $0.annealStrategy == .cos,
                divFactor: $0.divFactor, finalDivFactor: $0.finalDivFactor, momentum: $0.momentum)
        }
    }
}
