import Config
import Models
import Torch

/// Modalities' debugging components: forward hooks on every module of a model (`model_debugging_hook/nan_hook`,
/// `print_forward_hook`) and `debugging/settings`, which `settings.debugging` names to register them and to make
/// libtorch deterministic.
struct NaNHookConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("raise_exception") var raiseException = false
}

struct PrintForwardHookConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("print_shape_only") var printShapeOnly = false
}

struct DebuggingSettingsConfig: DeclaredConfig {
    @Field("forward_hooks") var forwardHooks: [ComponentSlot<ForwardHookRegistration>] = []
    @Field("enable_determinism") var enableDeterminism = false
}

/// What `debugging/settings` gives: the hooks it registered and whether libtorch was made deterministic.
public struct DebuggingSettings {
    public let forwardHooks: [ForwardHookRegistration]
    public let enableDeterminism: Bool
}

extension ComponentRegistry {
    func registerDebuggingComponents() {
        register(
            "model_debugging_hook", "nan_hook",
            summary:
                "names the first module whose input, output or gradient holds NaN or infinite values (forward pass, shape, count); raise_exception stops the run",
            config: NaNHookConfig.self, produces: [ForwardHookRegistration.self]
        ) { config, context in
            let model = try context.build(config.model)
            return ForwardHookRegistration(
                NonFiniteDetector(raiseException: config.raiseException).hook, on: try Self.networks(of: model, for: "a forward hook"))
        }
        register(
            "model_debugging_hook", "print_forward_hook",
            summary: "prints each module's class, path and input/output shapes in forward (and the tensors unless print_shape_only)",
            config: PrintForwardHookConfig.self, produces: [ForwardHookRegistration.self]
        ) { config, context in
            let model = try context.build(config.model)
            return ForwardHookRegistration(
                ForwardPrinter(printShapeOnly: config.printShapeOnly).hook, on: try Self.networks(of: model, for: "a forward hook"))
        }
        register(
            "debugging", "settings",
            summary:
                "registers forward_hooks (settings.debugging) and with enable_determinism makes libtorch use deterministic algorithms only",
            config: DebuggingSettingsConfig.self, produces: [DebuggingSettings.self]
        ) { config, context in
            let hooks = try context.build(config.forwardHooks)
            // As torch.use_deterministic_algorithms(True): process-wide in libtorch, for the rest of the run.
            if config.enableDeterminism { Runtime.deterministicAlgorithms = true }
            return DebuggingSettings(forwardHooks: hooks, enableDeterminism: config.enableDeterminism)
        }
    }
}

struct DebuggingEnrichedModelConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("logging_dir_path") var loggingDirPath: String
    /// The ranks that write statistics (none: every rank).
    @Field("tracked_ranks") var trackedRanks: [Int]? = nil
    @Field("log_interval_steps") var logIntervalSteps = 1
}

extension ComponentRegistry {
    func registerDebuggingEnrichedModel() {
        register(
            "model", "debugging_enriched",
            summary:
                "the model with statistics (shape, NaN/inf counts, mean, std, min, max) of each module's inputs, outputs, parameters and output gradients in tensor_stats_rank_<rank>.jsonl",
            config: DebuggingEnrichedModelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let model = try context.build(config.model)
            let rank = context.run.rank
            if let tracked = config.trackedRanks, !tracked.contains(rank) { return model }
            // One file per rank: the pipeline stages a rank holds share it.
            let networks = try Self.networks(of: model, for: "model/debugging_enriched")
            let logger = try TensorStatisticsLogger(
                folder: config.loggingDirPath, rank: rank, logIntervalSteps: config.logIntervalSteps,
                parameters: networks.flatMap { $0.parameters.named })
            for network in networks { _ = network.addForwardHook(logger.hook) }
            return model
        }
    }
}
