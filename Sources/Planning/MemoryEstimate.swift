/// Bytes one GPU holds at its peak during a training step, by what holds them.
public struct MemoryEstimate: Sendable, Equatable {
    /// float32 master parameters of this GPU's shard.
    public var parameters: Double
    /// float32 gradients of this GPU's shard.
    public var gradients: Double
    /// AdamW's two float32 moments of this GPU's shard.
    public var optimizerState: Double
    /// Gathered low-precision parameters: the units being computed and prefetched (all of them without resharding).
    public var gatheredParameters: Double
    /// Activations kept for backward (block inputs only for recomputed blocks), logits and the loss's float32 copy.
    public var activations: Double
    /// Communication buffers and the runtime: CUDA context, workspaces, allocator slack.
    public var runtime: Double

    public var total: Double { parameters + gradients + optimizerState + gatheredParameters + activations + runtime }

    /// Rows for a report: name and bytes.
    public var items: [(String, Double)] {
        [
            ("parameters (fp32 shard)", parameters), ("gradients (fp32 shard)", gradients),
            ("optimizer state (AdamW)", optimizerState), ("gathered parameters", gatheredParameters),
            ("activations", activations), ("runtime and buffers", runtime),
        ]
    }
}

extension RunPlanner {
    /// Peak bytes per GPU: sharded float32 state, gathered units, activations as Korthikanti et al. (2022) count
    /// them for flash attention (34·T·b·d bytes per block, divided by the tensor-parallel degree with sequence
    /// parallelism; 2·T·b·d for a recomputed block's kept input), the logits in bf16 and float32, the runtime.
    func memory(model: ModelShape, layout: ParallelLayout) -> MemoryEstimate {
        let tp = Double(layout.tensorParallelDegree)
        let pp = Double(layout.pipelineParallelDegree)
        let local = Double(model.parameterCount) / (tp * pp)
        let shard = local / Double(layout.shardDegree)
        let unitsPerStage = Double(model.layerCount) / pp
        let unit = Double(model.blockParameterCount) / tp * Double(layout.parameterBytes)
        let gathered: Double
        switch layout.sharding {
        case .replicate: gathered = 0
        case .shardGradOp: gathered = local * Double(layout.parameterBytes)
        case .fullShard, .hybridShard: gathered = 2 * unit
        }
        let microBatch = Double(pipelineMicroBatchSize(layout))
        let tokens = microBatch * Double(model.sequenceLength)
        let d = Double(model.embeddingSize)
        let fullBlock = 34 * tokens * d / tp
        let keptInput = 2 * tokens * d / tp
        let perBlock = layout.recomputedFraction * keptInput + (1 - layout.recomputedFraction) * fullBlock
        let inFlight = layout.pipelineParallelDegree > 1 ? Double(min(layout.pipelineMicroBatches, layout.pipelineParallelDegree)) : 1
        let recomputeWorkspace = layout.recomputedFraction > 0 ? fullBlock : 0
        let logits = tokens * Double(model.vocabularySize) * (2 + 4 + 4) / tp
        let activations = inFlight * unitsPerStage * perBlock + recomputeWorkspace + logits
        return MemoryEstimate(
            parameters: 4 * shard, gradients: 4 * shard, optimizerState: 8 * shard, gatheredParameters: gathered,
            activations: activations, runtime: cluster.runtimeOverheadBytes)
    }

    /// Sequences in one forward/backward pass on one GPU: the micro-batch, split into the pipeline's micro-batches.
    func pipelineMicroBatchSize(_ layout: ParallelLayout) -> Int {
        guard layout.pipelineParallelDegree > 1 else { return layout.microBatchSize }
        return max(1, layout.microBatchSize / max(layout.pipelineMicroBatches, 1))
    }
}
