import Torch

/// Cross entropy on logits split over the vocabulary across a tensor-parallel group (loss parallelism, as
/// torchtitan's `loss_parallel`): each rank holds the logits of its contiguous part of the vocabulary, and the
/// whole logits are never put together.
///
/// Each rank reduces its part to one log-sum-exp per token; the ranks' values are gathered (one number per token
/// and rank) and combined into the whole log-sum-exp. The target's logit comes from the rank holding it, summed
/// over the group. The loss is the same on every rank, and each rank's gradient is that of its own logits.
public enum VocabularyParallelCrossEntropy {
    /// The mean over tokens of `logsumexp(logits) - logits[target]`.
    ///
    /// - Parameters:
    ///   - logits: this rank's part, (tokens, vocabulary / group size), for vocabulary ids from `rank · width`.
    ///   - targets: whole-vocabulary ids, (tokens).
    public static func loss(logits: Tensor, targets: Tensor, group: any TensorParallelCommunicator) throws -> Tensor {
        let logits = logits.dtype == .float32 ? logits : try logits.to(dtype: .float32)
        let width = logits.size(-1)
        let local = try targets - Tensor(scalar: Int64(group.rank * width)).to(device: targets.device)
        let inside = try local.ge(0).logicalAnd(try local.lt(Double(width)))
        let picked = try logits.gather(-1, try (local * inside).unsqueeze(-1)).squeeze(-1) * inside
        let target = try TensorParallelRegion.leave(picked, group)
        let parts = try TensorParallelRegion.gatherVocabulary(try logSumExp(logits).unsqueeze(-1), group)
        return try (logSumExp(parts) - target).mean()
    }

    /// log Σ exp over the last dimension, shifted by the (constant) maximum for range.
    static func logSumExp(_ x: Tensor) throws -> Tensor {
        let maximum = try x.max(dim: -1, keepDim: true).values.detach()
        return try (x - maximum).exp().sum(dims: [-1]).log() + maximum.squeeze(-1)
    }
}
