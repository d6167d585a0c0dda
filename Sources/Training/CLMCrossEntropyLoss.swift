import Models
import Torch

/// Causal-language-model cross entropy between predictions and targets picked by key
/// (`loss/clm_cross_entropy_loss`): mean over every token of the batch.
///
/// In training (grad enabled) it runs the fused cross entropy, which computes the logits' gradient in forward
/// and keeps it in the logits' memory: the predictions' logits must not be read after the loss.
public struct CLMCrossEntropyLoss: Sendable {
    public let targetKey: String
    public let predictionKey: String
    /// Name of the loss in metrics.
    public let tag: String

    public init(targetKey: String, predictionKey: String, tag: String = "CLMCrossEntropyLoss") {
        self.targetKey = targetKey
        self.predictionKey = predictionKey
        self.tag = tag
    }

    /// The mean loss of `predictions[predictionKey]` (…, vocabulary) against `targets[targetKey]` (…).
    public func callAsFunction(predictions: [String: Tensor], targets: [String: Tensor]) throws -> Tensor {
        try self(predictions: predictions, targets: targets, vocabularyParallel: nil)
    }

    /// The mean loss of `predictions[predictionKey]` against `targets[targetKey]`; with `vocabularyParallel`, the
    /// predictions hold this rank's part of the vocabulary and the loss reduces across the group
    /// (``VocabularyParallelCrossEntropy``).
    public func callAsFunction(
        predictions: [String: Tensor], targets: [String: Tensor], vocabularyParallel: (any TensorParallelCommunicator)?
    ) throws -> Tensor {
        guard let logits = predictions[predictionKey] else {
            throw TrainingError.invalidConfig(
                "the model gave no '\(predictionKey)' (keys: \(predictions.keys.sorted().joined(separator: ", ")))")
        }
        guard let labels = targets[targetKey] else {
            throw TrainingError.invalidConfig(
                "the batch has no target '\(targetKey)' (keys: \(targets.keys.sorted().joined(separator: ", ")))")
        }
        let flat = try logits.reshape([-1, logits.size(-1)])
        let target = try labels.to(dtype: .int64).reshape([-1])
        if let vocabularyParallel {
            return try VocabularyParallelCrossEntropy.loss(logits: flat, targets: target, group: vocabularyParallel)
        }
        return try Functional.crossEntropyReusingLogits(flat, target: target)
    }
}
