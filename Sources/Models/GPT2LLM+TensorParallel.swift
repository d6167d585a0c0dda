import Torch

extension GPT2LLM: SlicedParameterModel {
    /// Elements of the whole model's parameters, whatever slice of them this rank holds.
    public var parameterCount: Int {
        parameters.named.reduce(0) { count, entry in
            count + (tensorParallel?.wholeShape(of: entry.name, sliceShape: entry.tensor.shape) ?? entry.tensor.shape).reduce(1, *)
        }
    }

    /// This model as one rank of a tensor-parallel group (`model/gpt2_tp`): the same configuration with every split
    /// matrix holding this rank's slice. Values that exist are sliced; deferred parameters stay deferred, for an
    /// initializer (which draws them whole and keeps the slice) or a checkpoint to fill.
    ///
    /// - Throws: ``ModelError/invalidConfig(_:)`` when the group's size does not divide the heads, kv heads or the
    ///   MLP, or when the model is split already.
    public func splitForTensorParallelism(_ shard: TensorParallelShard) throws -> GPT2LLM {
        guard tensorParallel == nil else {
            throw ModelError.invalidConfig("the model is tensor-parallel already (degree \(tensorParallel!.size)); wrap model/gpt2 once")
        }
        let split = try emptyCopy(tensorParallel: shard, pipelineStage: pipelineStage)
        for (name, tensor) in parameters.named where parameters.deferredFills[name] == nil {
            try split.parameters.load(name, from: shard.slice(of: tensor, name: name))
        }
        split.checkpointedLayers = checkpointedLayers
        split.selectiveCheckpointPolicy = selectiveCheckpointPolicy
        return split
    }

    /// A model of the same configuration, dtype, device and deferral with another split, its parameters not yet
    /// loaded (zeros, or deferred like this one's).
    func emptyCopy(tensorParallel: TensorParallelShard?, pipelineStage: PipelineStageLayout?) throws -> GPT2LLM {
        let first = parameters.named.first?.tensor
        return try GPT2LLM(
            config: config, sampleKey: sampleKey, predictionKey: predictionKey, seed: seed, dtype: first?.dtype ?? .float32,
            device: first?.device ?? .cpu, deferAllocation: parameters.hasDeferredParameters, tensorParallel: tensorParallel,
            pipelineStage: pipelineStage)
    }
}
