import DataLoading
import Distributed
import Foundation
import Models
import Observability
import Parallelism
import Torch

/// Mean loss of a model over whole evaluation loaders, without gradients (Modalities' `Evaluator`).
public final class Evaluator {
    public let dataParallelDegree: Int
    public let progressSubscriber: any ProgressSubscriber
    public let resultSubscriber: any ResultSubscriber
    /// The data-parallel ranks' group: each evaluates its share, losses are summed over it (nil on one rank).
    public var group: ProcessGroup?
    /// With pipeline parallelism, the pipeline the batches run forward through (the loss exists on the last stage's
    /// ranks only, which alone count batches and samples).
    public var pipeline: ScheduledPipeline?

    public init(
        dataParallelDegree: Int = 1, progressSubscriber: any ProgressSubscriber = DummyProgressSubscriber(),
        resultSubscriber: any ResultSubscriber = DummyResultSubscriber()
    ) {
        self.dataParallelDegree = dataParallelDegree
        self.progressSubscriber = progressSubscriber
        self.resultSubscriber = resultSubscriber
    }

    /// Evaluates on every loader from its first batch; results are published and returned by loader tag.
    @discardableResult
    public func evaluate(model: any Model, loaders: [DataLoader], loss: any Loss, stepsDone: Int) throws -> [String: EvaluationResult] {
        var results: [String: EvaluationResult] = [:]
        let device = model.parameters.named.first?.tensor.device ?? .cpu
        let vocabularyParallel = model.unwrapped(as: GPT2LLM.self)?.lossParallelGroup
        for loader in loaders {
            loader.restore(state: 0)
            progressSubscriber.consume(ProgressUpdate(stepsDone: 0, status: .evaluation, dataloaderTag: loader.tag))
            let start = DispatchTime.now()
            var lossSum = 0.0
            var batches = 0
            var samples = 0
            let iterator = try loader.makeIterator()
            try Autograd.noGrad {
                while let batch = try iterator.nextBatch() {
                    let (inputs, targets) = try batch.tensors(on: device)
                    let batchLoss: Tensor?
                    if let pipeline {
                        let losses = try pipeline.evaluate(samples: inputs, targets: targets)
                        batchLoss = losses.isEmpty ? nil : try Tensor.stack(losses).mean()
                    } else {
                        let predictions = try model.forward(inputs, training: false)
                        batchLoss = try loss(predictions: predictions, targets: targets, vocabularyParallel: vocabularyParallel)
                    }
                    if let batchLoss {
                        lossSum += try batchLoss.item(Double.self)
                        batches += 1
                        samples += batch.size
                    }
                    progressSubscriber.consume(ProgressUpdate(stepsDone: batches, status: .evaluation, dataloaderTag: loader.tag))
                }
            }
            if let group, group.size > 1 {
                let totals = try Tensor([lossSum, Double(batches), Double(samples)], shape: [3])
                try group.allReduce(totals)
                let values = try totals.toArray(Double.self)
                (lossSum, batches, samples) = (values[0], Int(values[1].rounded()), Int(values[2].rounded()))
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            let result = EvaluationResult(
                dataloaderTag: loader.tag, numTrainStepsDone: stepsDone,
                losses: [(loss.tag, .number(batches > 0 ? lossSum / Double(batches) : .nan))],
                throughputMetrics: [
                    (
                        "evaluation_num_samples_per_second",
                        .number(Double(group == nil ? samples * dataParallelDegree : samples) / Swift.max(elapsed, 1e-9))
                    )
                ])
            try resultSubscriber.consume(result)
            results[loader.tag] = result
        }
        return results
    }
}
