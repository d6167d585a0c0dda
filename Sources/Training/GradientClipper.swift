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
        if let pipeline = model as? PipelineModelParts { return try clipPipelineGradients(pipeline) }
        let named = model.parameters.named.compactMap { entry in entry.tensor.grad.map { (name: entry.name, grad: $0) } }
        let grads = named.map(\.grad)
        let shardGroup = model.unwrapped(as: FullyShardedModel.self).map(\.shardGroup)
        let tensorParallel = model.unwrapped(as: GPT2LLM.self)?.tensorParallel
        guard !grads.isEmpty || shardGroup != nil else { return nil }
        return try Autograd.noGrad {
            var total: Tensor
            if let tensorParallel, tensorParallel.size > 1 {
                total = try contribution(named, tensorParallel: tensorParallel)
                if normType == .MAX_NORM {
                    if let shardGroup, shardGroup.size > 1 { try shardGroup.allReduce(total, .max) }
                } else {
                    if let shardGroup, shardGroup.size > 1 { try shardGroup.allReduce(total) }
                    if normType == .P2_NORM { total = try total.sqrt() }
                }
            } else {
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
            }
            try scale(grads, toClip: total)
            return total
        }
    }

    /// The norm over every stage of a pipeline: each part's contribution (p-th powers summed, or the maximum) over
    /// its tensor-parallel and sharding groups, combined over the rank's parts and then over the pipeline's ranks,
    /// so that every rank clips with the whole model's norm.
    private func clipPipelineGradients(_ pipeline: PipelineModelParts) throws -> Tensor? {
        try Autograd.noGrad {
            var total = try Tensor.zeros([], dtype: .float32, device: pipeline.parameters.named.first?.tensor.device ?? .cpu)
            var grads: [Tensor] = []
            for part in pipeline.parts {
                let named = part.parameters.named.compactMap { entry in entry.tensor.grad.map { (name: entry.name, grad: $0) } }
                grads += named.map(\.grad)
                var contribution = try contribution(named, tensorParallel: part.unwrapped(as: GPT2LLM.self)?.tensorParallel)
                if let shardGroup = part.unwrapped(as: FullyShardedModel.self)?.shardGroup, shardGroup.size > 1 {
                    contribution = try contribution.to(dtype: .float32)
                    try shardGroup.allReduce(contribution, normType == .MAX_NORM ? .max : .sum)
                }
                total = try combine(total, try contribution.to(dtype: .float32))
            }
            if let group = pipeline.group, group.size > 1 {
                try group.allReduce(total, normType == .MAX_NORM ? .max : .sum)
            }
            if normType == .P2_NORM { total = try total.sqrt() }
            try scale(grads, toClip: total)
            return total
        }
    }

    /// One model's contribution before any sharding group: its gradients' p-th powers summed (or their maximum).
    /// Under tensor parallelism split matrices hold different slices on each rank of the group and replicated
    /// parameters the same values: the former's powers are combined over the group, the latter counted once.
    private func contribution(_ named: [(name: String, grad: Tensor)], tensorParallel: TensorParallelShard?) throws -> Tensor {
        guard let tensorParallel, tensorParallel.size > 1 else { return try localCombination(named.map(\.grad)) }
        let split = named.filter { TensorParallelShard.split(of: $0.name) != .replicated }.map(\.grad)
        let replicated = named.filter { TensorParallelShard.split(of: $0.name) == .replicated }.map(\.grad)
        return try combine(try localCombination(replicated), try combineOverGroup(try localCombination(split), tensorParallel.communicator))
    }

    /// Scales `grads` so that their norm `total` becomes at most `maxNorm` (nothing without a `maxNorm`).
    private func scale(_ grads: [Tensor], toClip total: Tensor) throws {
        guard let maxNorm, !grads.isEmpty else { return }
        let coefficient = try (total + 1e-6).reciprocal() * maxNorm
        try coefficient.clamp_(max: 1)
        try Foreach.mul_(grads, coefficient)
    }

    /// What one rank's gradients contribute: the sum of their p-th powers (p = 1, 2), or their largest magnitude.
    private func localCombination(_ grads: [Tensor]) throws -> Tensor {
        guard !grads.isEmpty else { return try Tensor.zeros([]) }
        let norms = try Tensor.stack(try Foreach.norm(grads, ord: normType.order))
        switch normType {
        case .MAX_NORM: return try norms.max()
        case .P1_NORM: return try norms.sum()
        case .P2_NORM: return try (norms * norms).sum()
        }
    }

    private func combine(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        normType == .MAX_NORM ? try Tensor.stack([a, b]).max() : try a + b
    }

    /// A contribution combined over a tensor-parallel group (a maximum through the sum of one-hot slots).
    private func combineOverGroup(_ local: Tensor, _ group: any TensorParallelCommunicator) throws -> Tensor {
        guard normType == .MAX_NORM else { return try group.allReduceSum(local) }
        let slots = try Tensor.zeros([group.size], dtype: local.dtype, device: local.device)
        try slots.narrow(0, start: group.rank, length: 1).copy_(local.reshape([1]))
        return try group.allReduceSum(slots).max()
    }
}
