/// The top-level keys of a training config, each once (Modalities' `TrainingComponentsInstantiationModel`):
/// validation requires them from this list, and the training job builds its components under these names.
public enum TrainingComponentKey: String, CaseIterable, Sendable {
    case settings
    case appState = "app_state"
    case loss = "loss_fn"
    case trainDataset = "train_dataset"
    case trainDataloader = "train_dataloader"
    case evalDataloaders = "eval_dataloaders"
    case progressSubscriber = "progress_subscriber"
    case evaluationSubscriber = "evaluation_subscriber"
    case checkpointSaving = "checkpoint_saving"
    case gradientClipper = "gradient_clipper"
    case modelRaw = "model_raw"
    case mfuCalculator = "mfu_calculator"
    case deviceMesh = "device_mesh"
    /// With pipeline parallelism, the `pipeline/scheduled` pipeline whose schedule runs the model parts.
    case scheduledPipeline = "scheduled_pipeline"
    /// A steppable profiler (`steppable_profiler/*`), stepped once per micro batch.
    case profiler

    /// Keys a config may leave out.
    public var isOptional: Bool { [.mfuCalculator, .deviceMesh, .scheduledPipeline, .profiler].contains(self) }
}
