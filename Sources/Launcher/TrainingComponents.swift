import Checkpointing
import Components
import Config
import DataLoading
import Distributed
import ModalitiesSchema
import Observability
import Parallelism
import Profiling
import Training

/// What a training config declares, built from its validated graph under the names Modalities gives them (its
/// `TrainingComponentsInstantiationModel`): one list that `run`, `warmstart` and `benchmark train --config` share.
///
/// The core is what a training step needs; ``Outputs`` (evaluation loaders, subscribers, checkpoint saving) are
/// built only by jobs that evaluate and write, so a benchmark writes nothing.
struct TrainingComponents {
    typealias Key = TrainingComponentKey

    let appState: AppState
    let loss: any Loss
    let trainLoader: DataLoader
    let clipper: GradientClipper
    let mfuCalculator: GPT2MFUCalculator?
    let deviceMesh: DeviceMesh?
    /// The schedule over this rank's pipeline stages (`scheduled_pipeline`), when the model is pipeline-parallel.
    let pipeline: ScheduledPipeline?
    /// `settings.debugging`: built once the rest is, so its forward hooks are on the model the run trains.
    let debugging: DebuggingSettings?

    /// The core, from a validated training config.
    init(_ result: ConfigValidator.Result) throws {
        let graph = result.graph
        appState = try graph.build(Key.appState.rawValue, as: AppState.self)
        loss = try graph.build(Key.loss.rawValue, as: (any Loss).self)
        trainLoader = try graph.build(Key.trainDataloader.rawValue, as: DataLoader.self)
        clipper = try graph.build(Key.gradientClipper.rawValue, as: GradientClipper.self)
        mfuCalculator = try Self.optional(.mfuCalculator, GPT2MFUCalculator.self, from: result)
        deviceMesh = try Self.optional(.deviceMesh, DeviceMesh.self, from: result)
        pipeline = try Self.optional(.scheduledPipeline, Pipeline.self, from: result)?.scheduled
        debugging = try result.resolved["settings"]?["debugging"].map {
            try result.graph.build($0, at: "settings.debugging", as: DebuggingSettings.self)
        }
        if appState.model is PipelineModelParts, pipeline == nil {
            throw ConfigValueError(
                "app_state's model is a pipeline's model parts, but the config has no scheduled_pipeline (pipeline/scheduled) to run them")
        }
    }

    /// What a job that evaluates and writes builds besides the core.
    struct Outputs {
        let evaluationLoaders: [DataLoader]
        let progressSubscriber: any ProgressSubscriber
        let evaluationSubscriber: any ResultSubscriber
        let checkpointSaving: any CheckpointSaving
        /// The top-level `profiler`, when the config has one (it writes traces, so only jobs that write build it).
        let profiler: (any SteppableProfiler)?

        init(_ result: ConfigValidator.Result) throws {
            let graph = result.graph
            evaluationLoaders = try graph.buildList(Key.evalDataloaders.rawValue, as: DataLoader.self)
            progressSubscriber = try graph.build(Key.progressSubscriber.rawValue, as: (any ProgressSubscriber).self)
            evaluationSubscriber = try graph.build(Key.evaluationSubscriber.rawValue, as: (any ResultSubscriber).self)
            checkpointSaving = try graph.build(Key.checkpointSaving.rawValue, as: (any CheckpointSaving).self)
            profiler = try TrainingComponents.optional(.profiler, (any SteppableProfiler).self, from: result)
        }
    }

    fileprivate static func optional<T>(_ key: Key, _ type: T.Type, from result: ConfigValidator.Result) throws -> T? {
        result.resolved[key.rawValue] == nil ? nil : try result.graph.build(key.rawValue, as: type)
    }
}
