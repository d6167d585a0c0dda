import Distributed
import Foundation
import Models
import Torch

/// Fully sharded data parallelism (FSDP): every parameter, its gradient and its optimizer state are split over
/// the ranks of the shard group, so each rank holds about 1/N of them (`model/fsdp2_wrapped` on several ranks).
///
/// Units are the wrapped model's blocks plus a root unit with the remaining parameters (embeddings, final norm,
/// head). In forward, a block's parameters are all-gathered just before it runs and freed right after (storage
/// resized to zero); a gradient hook on the block's output gathers them again before the block's own backward. The
/// next block's all-gather is started (prefetched) while the current one computes, in forward and in backward.
/// Once all of a unit's gradients have accumulated (post-accumulate-grad hooks), they
/// are reduce-scattered: each rank keeps the average of its chunk, and the full gradients and parameters are
/// freed. The root unit stays gathered from the start of forward until its gradients are reduced.
///
/// With a replicate group (hybrid sharding, a mesh with `dp_replicate` > 1), chunks are sharded inside the shard
/// group and the reduced chunk gradients are all-reduced across the replicate group.
///
/// ``parameters`` are the chunks (1-D, same names as the model's parameters), which the optimizer, gradient
/// clipping and checkpoints work on; ``wrapped`` computes with the full tensors.
public final class FullyShardedModel: WrappingModel, GradientSynchronizing {
    public let wrapped: any Model
    public let shardGroup: ProcessGroup
    public let replicateGroup: ProcessGroup?
    /// This rank's chunks, by the model's parameter names.
    public let parameters: ParameterStore
    /// Whether blocks free their gathered parameters after forward (and gather again for backward).
    public let reshardAfterForward: Bool
    let units: [ShardedUnit]
    private let root: ShardedUnit
    private let network: any BlockStructuredModel
    private let lock = NSLock()
    private var hookError: Error?

    /// Shards `model`, whose parameters must be whole and equal on every rank (built or initialised the same way,
    /// or loaded), or not allocated yet (`use_meta_device`: each chunk then starts from the parameter's starting
    /// value, and only chunks are ever allocated). `model` or a model it wraps must be block-structured (`model/gpt2`).
    ///
    /// - Parameters:
    ///   - reshardAfterForward: free each block's gathered parameters after its forward (FSDP2's default; false keeps
    ///     them until its backward, trading memory for one all-gather per block and step, like FSDP1's SHARD_GRAD_OP).
    ///   - reduceDType: precision in which gradients are reduce-scattered (`reduce_dtype`; nil keeps float32).
    public init(
        wrapping model: any Model, shardGroup: ProcessGroup, replicateGroup: ProcessGroup? = nil,
        reshardAfterForward: Bool = true, reduceDType: DType? = nil
    ) throws {
        guard let network = model.unwrapped(as: (any BlockStructuredModel).self) else {
            throw ParallelismError.invalidConfig("fully sharded data parallelism needs a model made of blocks (model/gpt2)")
        }
        wrapped = model
        self.network = network
        self.shardGroup = shardGroup
        self.replicateGroup = replicateGroup
        self.reshardAfterForward = reshardAfterForward
        let named = model.parameters.named
        var startingValues: [String: Double] = [:]
        for (name, _) in named { startingValues[name] = model.parameters.takeDeferral(of: name) }
        var remaining = named
        var units: [ShardedUnit] = []
        for block in 0..<network.blockCount {
            let prefix = network.blockParameterPrefix(block)
            let members = remaining.filter { $0.name.hasPrefix(prefix) }
            remaining.removeAll { $0.name.hasPrefix(prefix) }
            units.append(
                try ShardedUnit(
                    label: "block \(block)", parameters: members, startingValues: startingValues, shardGroup: shardGroup,
                    replicateGroup: replicateGroup, reduceDType: reduceDType))
        }
        root = try ShardedUnit(
            label: "root", parameters: remaining, startingValues: startingValues, shardGroup: shardGroup,
            replicateGroup: replicateGroup, reduceDType: reduceDType)
        units.append(root)
        self.units = units
        let store = ParameterStore(dtype: named.first?.tensor.dtype ?? .float32)
        var shardOf: [String: Tensor] = [:]
        for unit in units {
            for (name, shard) in zip(unit.names, unit.shards) { shardOf[name] = shard }
        }
        for (name, _) in named { store.register(name, shardOf[name]!) }
        parameters = store
        for unit in units {
            try unit.reshard()
            for (index, tensor) in unit.full.enumerated() {
                try tensor.registerPostAccumulateGradHook { [weak self, unowned unit] _ in self?.gradientReady(index, of: unit) }
            }
        }
        network.blockWrapper = { [unowned self] block, input, body in try self.runBlock(block, input: input, body: body) }
    }

    deinit { network.blockWrapper = nil }

    public var seed: UInt64 { wrapped.seed }
    public var weightDecayGroups: [String: [String]] { wrapped.weightDecayGroups }
    /// The wrapped model's count: its whole tensors (whole shapes too, over a tensor-parallel model).
    public var parameterCount: Int { wrapped.parameterCount }

    /// Number of chunks every parameter is cut into.
    public var shardCount: Int { shardGroup.size }

    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        try root.gather()
        let outputs = try wrapped.forward(inputs, training: training)
        guard Autograd.isGradEnabled else {
            try root.reshard()
            return outputs
        }
        // The root is resharded once its gradients are reduced. When several forwards run before their backwards (a
        // pipeline schedule's micro batches), a later backward needs it again: gathered when its gradient arrives.
        for output in outputs.values where output.requiresGrad {
            let root = root
            _ = try output.registerHook { _ in
                try root.gather()
                return nil
            }
        }
        return outputs
    }

    private func runBlock(_ block: Int, input: Tensor, body: (Tensor) throws -> Tensor) throws -> Tensor {
        let unit = units[block]
        try unit.gather()
        // The next block's all-gather runs while this one computes.
        if block + 1 < network.blockCount { try units[block + 1].prefetch() }
        let output = try body(input)
        guard Autograd.isGradEnabled, output.requiresGrad else {
            try unit.reshard()
            return output
        }
        if reshardAfterForward { try unit.reshard() }
        // The output's gradient arrives before any of the block's backward runs: gather the parameters again then.
        let previous = block > 0 ? units[block - 1] : nil
        _ = try output.registerHook { _ in
            try unit.gather()
            try previous?.prefetch()
            return nil
        }
        return output
    }

    /// Post-accumulate-grad hook: once all of a unit's gradients are in, reduce-scatter them and free the unit.
    private func gradientReady(_ index: Int, of unit: ShardedUnit) {
        unit.gradientsReady.insert(index)
        guard unit.gradientsReady.count == unit.full.count else { return }
        recordingErrors {
            try unit.reduceGradients()
            try unit.reshard()
        }
    }

    private func recordingErrors(_ body: () throws -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard hookError == nil else { return }
        do { try body() } catch { hookError = error }
    }

    public func prepareBackward(lastMicroBatch: Bool) {}

    /// Reduces what the hooks did not (units with parameters that received no gradient), in unit order on every
    /// rank, and reports an error a hook met.
    public func synchronizeGradients() throws {
        lock.lock()
        let error = hookError
        hookError = nil
        lock.unlock()
        if let error { throw error }
        for unit in units where unit.hasPendingGradients || !unit.gradientsReady.isEmpty {
            try unit.reduceGradients()
        }
        for unit in units {
            try unit.discardPrefetch()
            try unit.reshard()
        }
    }

    /// Runs `initializer` over the model's parameters and keeps each rank's chunk: every rank draws each whole
    /// parameter from the same seed into a scratch tensor, one parameter at a time, so the chunks equal those of an
    /// unsharded model initialised the same way and the whole model never exists at once (with `use_meta_device`,
    /// not even before). Over a tensor-parallel model the draw is of the whole parameter, of which the rank's
    /// tensor-parallel slice is sharded.
    public func initialize(with initializer: any ModelInitializer, seed: UInt64) throws {
        let sliced = wrapped.unwrapped(as: (any SlicedParameterModel).self).flatMap { $0.isSliced ? $0 : nil }
        // A pipeline stage draws every parameter of the whole model, in its order, and keeps its own.
        let stage = wrapped.unwrapped(as: GPT2LLM.self).flatMap { $0.pipelineStage == nil ? nil : $0 }
        let walk = try stage?.wholeModelLayout().parameters ?? wrapped.parameters
        try initializer.initialize(walk, seed: seed) { name, tensor, fill in
            if let stage, stage.parameters.tensors[name] == nil {
                return try fill(try Tensor.empty(tensor.shape, dtype: tensor.dtype))  // another stage's: drawn, not kept
            }
            let (unit, index) = try locate(name)
            let shard = unit.shards[index]
            let wholeShape = stage != nil ? tensor.shape : try sliced?.wholeShape(of: name) ?? unit.full[index].shape
            let scratch = try Tensor.empty(wholeShape, dtype: shard.dtype, device: shard.device)
            try fill(scratch)
            let local = try sliced?.slice(ofWhole: scratch, name: name) ?? scratch
            _ = try Autograd.noGrad { try shard.copy_(try unit.localChunk(of: local, parameter: index)) }
        }
    }

    /// The unit holding parameter `name` and the parameter's index in it.
    private func locate(_ name: String) throws -> (unit: ShardedUnit, index: Int) {
        for unit in units { if let index = unit.names.firstIndex(of: name) { return (unit, index) } }
        throw ParallelismError.mismatch("the model has no parameter \(name)")
    }

    /// The whole shape of parameter `name` (its chunk is 1-D).
    public func fullShape(of name: String) -> [Int]? {
        (try? locate(name)).map { $0.unit.full[$0.index].shape }
    }

    /// This rank's chunk of `whole`, a tensor shaped like parameter `name` (a parameter or its optimizer state).
    public func localChunk(of whole: Tensor, name: String) throws -> Tensor {
        let (unit, index) = try locate(name)
        guard whole.shape == unit.full[index].shape else {
            throw ParallelismError.mismatch("\(name) has shape \(whole.shape), the model needs \(unit.full[index].shape)")
        }
        return try unit.localChunk(of: whole, parameter: index)
    }

    /// The whole tensor whose chunk this rank holds for parameter `name` (the parameter's own chunk, or its
    /// optimizer state): an all-gather over the shard group, so every rank must call it, in the same order.
    public func wholeTensor(ofChunk chunk: Tensor, name: String) throws -> Tensor {
        let (unit, index) = try locate(name)
        return try unit.wholeTensor(ofChunk: chunk, parameter: index)
    }

    /// Bytes of the largest unit's full parameters: what one gathered unit adds to a rank's memory.
    public var largestUnitBytes: Int { units.map(\.fullBytes).max() ?? 0 }
}
