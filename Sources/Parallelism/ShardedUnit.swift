import Distributed
import Torch

/// One FSDP unit (a transformer block, or the root's remaining parameters): every parameter is flattened and cut
/// into `shardCount` equal chunks (the last ones padded), of which this rank keeps chunk `shardIndex` as a leaf
/// tensor the optimizer updates.
///
/// The model's own parameter tensors (`full`) keep their shapes but hold no memory while the unit is sharded
/// (storage resized to zero). ``gather()`` all-gathers the chunks back into them; ``reduceGradients()``
/// reduce-scatters their gradients into the chunks' gradients and ``reshard()`` frees them again.
final class ShardedUnit {
    let label: String
    let names: [String]
    /// The model's parameters, as its forward reads them.
    let full: [Tensor]
    /// This rank's chunk of each parameter (1-D, unpadded; may be empty when a tensor has fewer elements than ranks).
    let shards: [Tensor]
    /// Padded chunk length of each parameter: ceil(elements / shardCount).
    let chunkLengths: [Int]
    let shardGroup: ProcessGroup
    /// Ranks holding the same chunks (hybrid sharding); gradients are averaged over them too.
    let replicateGroup: ProcessGroup?
    /// Precision of the gradient reduction (nil: the gradients' own).
    let reduceDType: DType?
    private(set) var isGathered = true
    /// A gather started by ``prefetch()`` and not yet copied out.
    private var pending: (received: Tensor, work: CollectiveWork)?
    /// Parameters whose gradient arrived in the current backward.
    var gradientsReady: Set<Int> = []

    var shardCount: Int { shardGroup.size }
    var shardIndex: Int { shardGroup.rank }

    /// Cuts `parameters` (whole, identical on every rank) into chunks; the full tensors stay allocated until
    /// ``reshard()``. A parameter named in `startingValues` holds no memory yet (deferred allocation): its chunk is
    /// filled with that value instead.
    init(
        label: String, parameters: [(name: String, tensor: Tensor)], startingValues: [String: Double] = [:], shardGroup: ProcessGroup,
        replicateGroup: ProcessGroup?, reduceDType: DType? = nil
    ) throws {
        self.label = label
        self.reduceDType = reduceDType
        names = parameters.map(\.name)
        full = parameters.map(\.tensor)
        self.shardGroup = shardGroup
        self.replicateGroup = replicateGroup
        let count = shardGroup.size
        chunkLengths = full.map { ($0.count + count - 1) / count }
        var shards: [Tensor] = []
        for (index, tensor) in full.enumerated() {
            let range = Self.chunkRange(elements: tensor.count, chunk: chunkLengths[index], index: shardGroup.rank)
            let startingValue = startingValues[parameters[index].name]
            let chunk = try Autograd.noGrad {
                if let value = startingValue {
                    return try Tensor.full([range.count], value, dtype: tensor.dtype, device: tensor.device)
                }
                return try tensor.detach().reshape([-1]).narrow(0, start: range.lowerBound, length: range.count).clone()
            }
            shards.append(try chunk.requiresGrad(true))
        }
        self.shards = shards
    }

    /// The elements of a flattened tensor that chunk `index` holds.
    static func chunkRange(elements: Int, chunk: Int, index: Int) -> Range<Int> {
        let start = Swift.min(index * chunk, elements)
        return start..<Swift.min(start + chunk, elements)
    }

    /// This rank's chunk of a whole tensor shaped like parameter `index`.
    func localChunk(of whole: Tensor, parameter index: Int) throws -> Tensor {
        let range = Self.chunkRange(elements: whole.count, chunk: chunkLengths[index], index: shardIndex)
        return try whole.reshape([-1]).narrow(0, start: range.lowerBound, length: range.count)
    }

    /// The whole tensor shaped like parameter `index` whose chunk `chunk` is this rank's (an all-gather: every rank
    /// of the shard group calls it).
    func wholeTensor(ofChunk chunk: Tensor, parameter index: Int) throws -> Tensor {
        try Autograd.noGrad {
            let length = chunkLengths[index]
            let send = try padded(chunk.detach().reshape([-1]), to: length).contiguous()
            let gathered = try Tensor.empty([length * shardCount], dtype: send.dtype, device: send.device)
            try shardGroup.allGather(into: gathered, from: send)
            let shape = full[index].shape
            return try gathered.narrow(0, start: 0, length: shape.reduce(1, *)).view(shape)
        }
    }

    /// Bytes of the full parameters while gathered.
    var fullBytes: Int { full.reduce(0) { $0 + $1.count * $1.dtype.byteCount } }

    /// Frees the full parameters' memory (they keep their shapes).
    func reshard() throws {
        guard isGathered else { return }
        for tensor in full { try tensor.resizeStorage(toBytes: 0) }
        isGathered = false
    }

    /// Starts the all-gather of the unit's chunks, so that a later ``gather()`` finds them (mostly) arrived.
    func prefetch() throws {
        guard !isGathered, pending == nil else { return }
        let total = chunkLengths.reduce(0, +)
        try Autograd.noGrad {
            let send = try Tensor.cat(try shards.indices.map { try padded(shards[$0].detach(), to: chunkLengths[$0]) })
            let received = try Tensor.empty([shardCount * total], dtype: send.dtype, device: send.device)
            pending = (received, try shardGroup.allGatherAsync(into: received, from: send))
        }
    }

    /// Waits for a prefetch that will not be used (the chunks are about to change).
    func discardPrefetch() throws {
        guard let pending else { return }
        self.pending = nil
        try pending.work.wait()
    }

    /// Re-creates the full parameters from every rank's chunks (one all-gather for the unit, started here unless
    /// ``prefetch()`` started it).
    func gather() throws {
        guard !isGathered else { return }
        if pending == nil { try prefetch() }
        let (received, work) = pending!
        pending = nil
        try work.wait()
        let total = chunkLengths.reduce(0, +)
        try Autograd.noGrad {
            let byRank = try received.view([shardCount, total])
            var offset = 0
            for (index, tensor) in full.enumerated() {
                let values = try byRank.narrow(1, start: offset, length: chunkLengths[index]).reshape([-1])
                    .narrow(0, start: 0, length: tensor.count).view(tensor.shape)
                try tensor.resizeStorage(toBytes: tensor.count * tensor.dtype.byteCount)
                // Not an in-place change for autograd: backward reads these through tensors it saved in forward.
                try tensor.copyUntracked(from: values)
                offset += chunkLengths[index]
            }
        }
        isGathered = true
    }

    /// Averages the full parameters' gradients over the data-parallel ranks, keeps this rank's chunk (added to
    /// the chunk's gradient, so micro batches accumulate) and drops the full gradients.
    func reduceGradients() throws {
        let count = shardCount
        try Autograd.noGrad {
            let rows = try full.indices.map { index -> Tensor in
                let tensor = full[index]
                let flat = try tensor.grad?.reshape([-1]) ?? Tensor.zeros([tensor.count], dtype: tensor.dtype, device: tensor.device)
                return try padded(flat, to: count * chunkLengths[index]).view([count, chunkLengths[index]])
            }
            var send = try Tensor.cat(rows, dim: 1).reshape([-1])
            if let reduceDType, reduceDType != send.dtype { send = try send.to(dtype: reduceDType) }
            let total = chunkLengths.reduce(0, +)
            var received = try Tensor.empty([total], dtype: send.dtype, device: send.device)
            try shardGroup.reduceScatter(into: received, from: send)
            var ranks = count
            if let replicateGroup, replicateGroup.size > 1 {
                try replicateGroup.allReduce(received)
                ranks *= replicateGroup.size
            }
            if received.dtype != shards[0].dtype { received = try received.to(dtype: shards[0].dtype) }
            try received.div_(Double(ranks))
            var offset = 0
            for (index, shard) in shards.enumerated() {
                let chunk = try received.narrow(0, start: offset, length: shard.count)
                if let grad = shard.grad { try grad.add_(chunk) } else { try shard.setGrad(try chunk.clone()) }
                try full[index].setGrad(nil)
                offset += chunkLengths[index]
            }
        }
        gradientsReady = []
    }

    /// Whether any full parameter holds a gradient not yet reduced.
    var hasPendingGradients: Bool { full.contains { $0.grad != nil } }

    private func padded(_ flat: Tensor, to length: Int) throws -> Tensor {
        flat.count == length
            ? flat
            : try Tensor.cat([flat, try Tensor.zeros([length - flat.count], dtype: flat.dtype, device: flat.device)])
    }
}
