import Distributed
import Models
import Parallelism
import Torch

/// Which norm of all gradients together is measured (Modalities' `GradientClippingMode`).
public enum GradientNormType: String, Sendable, CaseIterable {
    case P1_NORM, P2_NORM, MAX_NORM

    var order: Double {
        switch self {
        case .P1_NORM: return 1
        case .P2_NORM: return 2
        case .MAX_NORM: return .infinity
        }
    }
}

/// Measures the total gradient norm of a model and, with a `maxNorm`, scales the gradients down to it
/// (`gradient_clipper/fsdp2`; without `maxNorm` it only measures, `gradient_clipper/fsdp2_logging_only`).
///
/// The arithmetic is PyTorch's `get_total_norm` + `clip_grads_with_norm_`: per-tensor norms, the norm of those,
/// then every gradient times `min(1, max_norm / (total + 1e-6))`.
public final class GradientClipper {
    public let model: any Model
    public let normType: GradientNormType
    public let maxNorm: Double?

    public init(model: any Model, normType: GradientNormType, maxNorm: Double?) throws {
        if let maxNorm, !(maxNorm > 0) { throw TrainingError.invalidConfig("max_norm must be greater than 0, found \(maxNorm)") }
        self.model = model
        self.normType = normType
        self.maxNorm = maxNorm
    }

    /// The total norm before clipping; gradients are scaled in place when it exceeds `maxNorm`.
    ///
    /// For a sharded model the norm covers the whole gradients: the chunks' norms are combined over the shard group.
    @discardableResult
    public func clipGradients() throws -> Double {
        try clipGradientsOnDevice()?.item(Double.self) ?? 0
    }

    /// ``clipGradients()`` without reading the norm back to the host: the total norm stays a tensor on the
    /// gradients' device (nil when there are no gradients), so a GPU step has no host synchronisation and can be
    /// captured in a CUDA graph.
    @discardableResult
    public func clipGradientsOnDevice() throws -> Tensor? {
        let grads = model.parameters.named.compactMap(\.tensor.grad)
        let shardGroup = model.unwrapped(as: FullyShardedModel.self).map(\.shardGroup)
        guard !grads.isEmpty || shardGroup != nil else { return nil }
        return try Autograd.noGrad {
            var total: Tensor
            if grads.isEmpty {
                total = try Tensor.zeros([])
            } else {
                let stacked = try Tensor.stack(try Foreach.norm(grads, ord: normType.order))
                total = normType == .MAX_NORM ? try stacked.max() : try stacked.norm(normType.order)
            }
            if let shardGroup, shardGroup.size > 1 {
                // Sum of p-th powers (or the maximum) over the ranks' chunks.
                switch normType {
                case .MAX_NORM:
                    try shardGroup.allReduce(total, .max)
                case .P1_NORM:
                    try shardGroup.allReduce(total)
                case .P2_NORM:
                    total = try total * total
                    try shardGroup.allReduce(total)
                    total = try total.sqrt()
                }
            }
            if let maxNorm, !grads.isEmpty {
                let coefficient = try (total + 1e-6).reciprocal() * maxNorm
                try coefficient.clamp_(max: 1)
                try Foreach.mul_(grads, coefficient)
            }
            return total
        }
    }
}
