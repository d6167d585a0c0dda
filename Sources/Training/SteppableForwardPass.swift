import DataLoading
import Models
import Parallelism
import Torch

/// One unit of work a profiler measures (Modalities' `SteppableComponentIF`).
public protocol SteppableComponent: AnyObject {
    func step() throws
}

/// `steppable_component/forward_pass`: a forward pass of the model on a generated batch, with the loss and its
/// backward pass when a loss is given, and an optimizer step when an optimizer is given.
public final class SteppableForwardPass: SteppableComponent {
    public let model: any Model
    public let batches: RandomBatchGenerator
    public let loss: (any Loss)?
    public let optimizer: (any Optimizer)?

    public init(model: any Model, batches: RandomBatchGenerator, loss: (any Loss)?, optimizer: (any Optimizer)?) {
        self.model = model
        self.batches = batches
        self.loss = loss
        self.optimizer = optimizer
    }

    public func step() throws {
        let batch = try batches.nextBatch()
        guard let loss else {
            _ = try model.forward(batch.samples, training: false)
            return
        }
        (model as? GradientSynchronizing)?.prepareBackward(lastMicroBatch: true)
        let predictions = try model.forward(batch.samples, training: true)
        try loss(predictions: predictions, targets: batch.targets).backward()
        try GradientSynchronization.finish(model)
        if let optimizer {
            try optimizer.step()
            try optimizer.zeroGrad()
        }
    }
}
