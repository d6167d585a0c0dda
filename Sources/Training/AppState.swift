import Models
import Parallelism
import Torch

/// What a checkpoint holds and restores: the model, its optimizer and the learning-rate scheduler
/// (`app_state/raw`; `app_state/dcp` is the same after loading a checkpoint into it).
public final class AppState {
    public let model: any Model
    public let optimizer: any Optimizer
    public let scheduler: LearningRateScheduler?
    /// The checkpoint folder this state was loaded from, if any.
    public var loadedFrom: String?

    public init(model: any Model, optimizer: any Optimizer, scheduler: LearningRateScheduler?) throws {
        guard
            optimizer.model === model || optimizer.model === (model as? MixedPrecisionModel)?.wrapped
                || (optimizer.model as? MixedPrecisionModel)?.wrapped === model
                || optimizer.parameterNames.allSatisfy({ model.parameters.tensors[$0] != nil })
        else {
            throw TrainingError.invalidConfig("the app state's optimizer updates another model's parameters than its model")
        }
        if let scheduler, scheduler.optimizer !== optimizer {
            throw TrainingError.invalidConfig("the app state's lr_scheduler drives another optimizer than its optimizer")
        }
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
    }
}

/// Saves checkpoints when the training loop asks (`checkpoint_saving/*`).
public protocol CheckpointSaving: AnyObject {
    /// Saves (or not, as the strategy says) after `progress`; may delete older checkpoints.
    func saveCheckpoint(progress: TrainingProgress, appState: AppState) throws
}

/// A loss over a model's predictions and a batch's targets (`loss/*`).
public protocol Loss {
    /// The loss's name in results.
    var tag: String { get }
    func callAsFunction(predictions: [String: Tensor], targets: [String: Tensor]) throws -> Tensor
    /// The loss of predictions whose last dimension is split over `vocabularyParallel`'s ranks (loss parallelism);
    /// with nil, the loss of whole predictions. Losses that cannot reduce across the ranks throw.
    func callAsFunction(
        predictions: [String: Tensor], targets: [String: Tensor], vocabularyParallel: (any TensorParallelCommunicator)?
    ) throws -> Tensor
}

extension Loss {
    public func callAsFunction(
        predictions: [String: Tensor], targets: [String: Tensor], vocabularyParallel: (any TensorParallelCommunicator)?
    ) throws -> Tensor {
        guard vocabularyParallel == nil else {
            throw TrainingError.invalidConfig(
                "\(tag) cannot take logits split over the vocabulary (enable_loss_parallel); use loss/clm_cross_entropy_loss or disable it")
        }
        return try self(predictions: predictions, targets: targets)
    }
}

extension CLMCrossEntropyLoss: Loss {}
