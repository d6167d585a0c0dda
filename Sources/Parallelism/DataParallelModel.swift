import Distributed
import Foundation
import Models
import Torch

/// A model whose gradients are averaged over the data-parallel ranks before each optimizer step (replicated data
/// parallelism, as DDP): every rank holds all parameters and computes gradients on its own batch.
///
/// Parameters are grouped into buckets of about `bucketBytes`, in reverse creation order (the order backward
/// produces their gradients). During the backward of a step's last micro batch, a post-accumulate-grad hook
/// notices when a bucket's gradients are complete and starts its all-reduce at once, so communication overlaps
/// the rest of backward; ``synchronizeGradients()`` waits for the buckets and writes the averages back.
public final class DataParallelModel: WrappingModel, GradientSynchronizing {
    public let wrapped: any Model
    public let group: ProcessGroup
    public let bucketBytes: Int
    /// Parameter indices (into `parameters.named`) of each bucket.
    public let buckets: [[Int]]

    private let lock = NSLock()
    private var synchronizing = false
    private var ready: [Set<Int>]
    private var inFlight: [Int: (flat: Tensor, work: CollectiveWork)] = [:]
    private var hookError: Error?

    public init(wrapping model: any Model, group: ProcessGroup, bucketBytes: Int = 25 * 1_048_576) throws {
        wrapped = model
        self.group = group
        self.bucketBytes = bucketBytes
        let named = model.parameters.named
        var buckets: [[Int]] = [[]]
        var size = 0
        for index in named.indices.reversed() {
            let bytes = named[index].tensor.count * named[index].tensor.dtype.byteCount
            if size > 0 && (size + bytes > bucketBytes || named[buckets[buckets.count - 1][0]].tensor.dtype != named[index].tensor.dtype) {
                buckets.append([])
                size = 0
            }
            buckets[buckets.count - 1].append(index)
            size += bytes
        }
        self.buckets = buckets.filter { !$0.isEmpty }
        ready = self.buckets.map { _ in [] }
        // Every rank starts from rank 0's parameters (deferred ones allocated first, with their starting values).
        try model.parameters.allocateAll()
        try Autograd.noGrad {
            for (_, parameter) in named { try group.broadcast(parameter, root: 0) }
        }
        guard group.size > 1 else { return }
        var bucketOf: [Int: Int] = [:]
        for (bucket, members) in self.buckets.enumerated() { for index in members { bucketOf[index] = bucket } }
        for (index, entry) in named.enumerated() {
            let bucket = bucketOf[index]!
            try entry.tensor.registerPostAccumulateGradHook { [weak self] _ in self?.gradientReady(index, bucket: bucket) }
        }
    }

    public var parameters: ParameterStore { wrapped.parameters }
    public var seed: UInt64 { wrapped.seed }
    public var weightDecayGroups: [String: [String]] { wrapped.weightDecayGroups }

    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        try wrapped.forward(inputs, training: training)
    }

    public func prepareBackward(lastMicroBatch: Bool) {
        lock.lock()
        synchronizing = lastMicroBatch && group.size > 1
        lock.unlock()
    }

    /// Called by the hooks on the backward thread: starts a bucket's all-reduce once all its gradients are in.
    private func gradientReady(_ index: Int, bucket: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard synchronizing, hookError == nil else { return }
        ready[bucket].insert(index)
        guard ready[bucket].count == buckets[bucket].count else { return }
        do {
            try launch(bucket)
        } catch {
            hookError = error
        }
    }

    /// Flattens the bucket's gradients and starts their all-reduce (the lock is held).
    private func launch(_ bucket: Int) throws {
        guard inFlight[bucket] == nil else { return }
        let named = parameters.named
        let flat = try Autograd.noGrad {
            try Tensor.cat(
                try buckets[bucket].map { index in
                    try (named[index].tensor.grad ?? named[index].tensor.detach().zerosLike()).reshape([-1])
                })
        }
        inFlight[bucket] = (flat, try group.allReduceAsync([flat]))
    }

    /// Waits for every bucket (starting those whose hooks did not all fire) and writes the averages into `.grad`.
    public func synchronizeGradients() throws {
        guard group.size > 1 else { return }
        lock.lock()
        defer {
            synchronizing = false
            inFlight = [:]
            ready = buckets.map { _ in [] }
            hookError = nil
            lock.unlock()
        }
        if let hookError { throw hookError }
        // Every rank launches the remaining buckets in the same (index) order.
        for bucket in buckets.indices where inFlight[bucket] == nil { try launch(bucket) }
        let named = parameters.named
        try Autograd.noGrad {
            for bucket in buckets.indices {
                let (flat, work) = inFlight[bucket]!
                try work.wait()
                try flat.div_(Double(group.size))
                var offset = 0
                for index in buckets[bucket] {
                    let parameter = named[index].tensor
                    let average = try flat.narrow(0, start: offset, length: parameter.count).view(parameter.shape)
                    if let grad = parameter.grad { _ = try grad.copy_(average) } else { try parameter.setGrad(try average.clone()) }
                    offset += parameter.count
                }
            }
        }
    }
}

/// A model that needs its gradients combined across ranks before the optimizer step.
public protocol GradientSynchronizing {
    /// Called before each micro batch's backward; `lastMicroBatch` marks the one whose gradients are final.
    func prepareBackward(lastMicroBatch: Bool)
    func synchronizeGradients() throws
}

extension MixedPrecisionModel: GradientSynchronizing {
    public func prepareBackward(lastMicroBatch: Bool) {
        (wrapped as? GradientSynchronizing)?.prepareBackward(lastMicroBatch: lastMicroBatch)
    }

    public func synchronizeGradients() throws {
        try (wrapped as? GradientSynchronizing)?.synchronizeGradients()
    }
}
