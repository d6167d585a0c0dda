import Distributed
import Models
import Torch

/// A model whose gradients are averaged over the data-parallel ranks before each optimizer step (replicated data
/// parallelism, as DDP): every rank holds all parameters, computes gradients on its own batch, and the trainer calls
/// ``synchronizeGradients()`` after the last micro batch. Gradients travel in flat buckets of about `bucketBytes`.
public final class DataParallelModel: Model, GradientSynchronizing {
    public let wrapped: any Model
    public let group: ProcessGroup
    public let bucketBytes: Int

    public init(wrapping model: any Model, group: ProcessGroup, bucketBytes: Int = 25 * 1_048_576) throws {
        wrapped = model
        self.group = group
        self.bucketBytes = bucketBytes
        // Every rank starts from rank 0's parameters.
        try Autograd.noGrad {
            for (_, parameter) in model.parameters.named { try group.broadcast(parameter, root: 0) }
        }
    }

    public var parameters: ParameterStore { wrapped.parameters }
    public var seed: UInt64 { wrapped.seed }
    public var weightDecayGroups: [String: [String]] { wrapped.weightDecayGroups }

    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        try wrapped.forward(inputs, training: training)
    }

    /// Averages every gradient over the group, bucket by bucket (flattened, one all-reduce per bucket).
    public func synchronizeGradients() throws {
        let grads = parameters.named.compactMap(\.tensor.grad)
        guard !grads.isEmpty, group.size > 1 else { return }
        try Autograd.noGrad {
            var bucket: [Tensor] = []
            var bytes = 0
            func flush() throws {
                guard !bucket.isEmpty else { return }
                let flat = try Tensor.cat(try bucket.map { try $0.reshape([-1]) })
                try group.allReduce(flat)
                try flat.div_(Double(group.size))
                var offset = 0
                for grad in bucket {
                    _ = try grad.copy_(try flat.narrow(0, start: offset, length: grad.count).view(grad.shape))
                    offset += grad.count
                }
                bucket = []
                bytes = 0
            }
            for grad in grads {
                if bytes > 0 && bytes + grad.count * grad.dtype.byteCount > bucketBytes || (bucket.first.map { $0.dtype != grad.dtype } ?? false) {
                    try flush()
                }
                bucket.append(grad)
                bytes += grad.count * grad.dtype.byteCount
            }
            try flush()
        }
    }
}

/// A model that needs its gradients combined across ranks before the optimizer step.
public protocol GradientSynchronizing {
    func synchronizeGradients() throws
}

extension MixedPrecisionModel: GradientSynchronizing {
    public func synchronizeGradients() throws {
        try (wrapped as? GradientSynchronizing)?.synchronizeGradients()
    }
}
