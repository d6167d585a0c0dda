import Torch

extension GPT2LLM {
    /// The part of this model that pipeline stage `layout` holds (`pipeline/staged`): a model with only that stage's
    /// parameters, under the whole model's names. Values that exist are copied; deferred parameters stay deferred,
    /// for an initializer (which draws the whole model's and keeps the stage's) or a checkpoint to fill.
    ///
    /// - Throws: ``ModelError/invalidConfig(_:)`` when the model is a stage already, the layout names blocks it does
    ///   not have, or tied weights would be split across stages.
    public func splitForPipeline(_ layout: PipelineStageLayout) throws -> GPT2LLM {
        guard pipelineStage == nil else {
            throw ModelError.invalidConfig("the model is pipeline \(pipelineStage!) already; split model/gpt2 once")
        }
        let stage = try emptyCopy(tensorParallel: tensorParallel, pipelineStage: layout)
        for (name, _) in stage.parameters.named where parameters.deferredFills[name] == nil {
            guard let whole = parameters.tensors[name] else { throw ModelError.missingParameter(name) }
            try stage.parameters.load(name, from: whole)
        }
        // Activation checkpointing by block position: the stage's blocks keep the setting of the model's.
        stage.checkpointedLayers = Set(stage.layers.indices.filter { checkpointedLayers.contains(stage.layers[$0]) })
        stage.selectiveCheckpointPolicy = selectiveCheckpointPolicy
        return stage
    }

    /// The same model built whole, without memory: the names, shapes and order in which an initializer draws the
    /// whole model's parameters (a pipeline stage keeps its own draws).
    public func wholeModelLayout() throws -> GPT2LLM {
        try GPT2LLM(
            config: config, sampleKey: sampleKey, predictionKey: predictionKey, seed: seed,
            dtype: parameters.named.first?.tensor.dtype ?? .float32, deferAllocation: true)
    }
}
