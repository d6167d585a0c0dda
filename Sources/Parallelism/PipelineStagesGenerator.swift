import Models

/// Splits a GPT2LLM into pipeline stages as Modalities' `gpt2_stages_generator` does: the embeddings count as
/// `inputLayerEquivalence` blocks and the final norm with the head as `outputLayerEquivalence`; the stages are
/// ceil((layers + both) / `num_layers_per_stage`), each filled in order up to an equal share of that weight.
public struct PipelineStagesGenerator: Sendable, Equatable {
    public let layerCount: Int
    public let inputLayerEquivalence: Int
    public let outputLayerEquivalence: Int

    /// - Throws: ``ParallelismError/invalidConfig(_:)`` for a count below 1.
    public init(layerCount: Int, inputLayerEquivalence: Int = 1, outputLayerEquivalence: Int = 1) throws {
        for (field, value) in [
            ("num_model_layers", layerCount), ("input_layer_equivalence", inputLayerEquivalence),
            ("output_layer_equivalence", outputLayerEquivalence),
        ] where value < 1 {
            throw ParallelismError.invalidConfig("\(field) must be 1 or greater, found \(value)")
        }
        self.layerCount = layerCount
        self.inputLayerEquivalence = inputLayerEquivalence
        self.outputLayerEquivalence = outputLayerEquivalence
    }

    /// The module names (Modalities' FQNs) of each stage.
    ///
    /// - Throws: ``ParallelismError/invalidConfig(_:)`` when the stages do not divide by `pipelineDegree`, or a
    ///   split point weighs more than a stage's share.
    public func moduleNames(layersPerStage: Int, pipelineDegree: Int) throws -> [[String]] {
        guard layersPerStage >= 1 else {
            throw ParallelismError.invalidConfig("num_layers_per_stage must be 1 or greater, found \(layersPerStage)")
        }
        let totalWeight = layerCount + inputLayerEquivalence + outputLayerEquivalence
        let stageCount = (totalWeight + layersPerStage - 1) / layersPerStage
        guard stageCount % pipelineDegree == 0 else {
            throw ParallelismError.invalidConfig(
                "\(stageCount) pipeline stages (\(layerCount) layers + input_layer_equivalence \(inputLayerEquivalence) + output_layer_equivalence \(outputLayerEquivalence), num_layers_per_stage \(layersPerStage)) do not divide by pipeline_parallel_degree \(pipelineDegree)"
            )
        }
        let splitPoints: [(names: [String], weight: Int)] =
            [(["transformer.wte", "transformer.wpe", "transformer.drop"], inputLayerEquivalence)]
            + (0..<layerCount).map { (["transformer.h.\($0)"], 1) }
            + [(["transformer.lm_head_norm", "transformer.lm_head"], outputLayerEquivalence)]
        let share = (totalWeight + stageCount - 1) / stageCount
        var next = 0
        var stages: [[String]] = []
        for _ in 0..<stageCount {
            var names: [String] = []
            var weight = 0
            while next < splitPoints.count {
                let point = splitPoints[next]
                guard point.weight <= share else {
                    throw ParallelismError.invalidConfig(
                        "\(point.names.joined(separator: ", ")) weighs \(point.weight) layers, more than a stage's share of \(share): lower input_layer_equivalence/output_layer_equivalence or raise num_layers_per_stage"
                    )
                }
                if weight + point.weight > share { break }
                names += point.names
                weight += point.weight
                next += 1
            }
            stages.append(names)
        }
        guard next == splitPoints.count else {
            throw ParallelismError.invalidConfig(
                "\(splitPoints.count - next) split points are left over after \(stageCount) stages of weight \(share); adjust num_layers_per_stage"
            )
        }
        return stages
    }

    /// The stages' layouts for GPT2LLM's ``GPT2LLM/splitForPipeline(_:)``.
    public func layouts(layersPerStage: Int, pipelineDegree: Int) throws -> [PipelineStageLayout] {
        let names = try moduleNames(layersPerStage: layersPerStage, pipelineDegree: pipelineDegree)
        do {
            return try names.enumerated().map { try PipelineStageLayout(index: $0.offset, count: names.count, fqns: $0.element) }
        } catch let error as ModelError {
            throw ParallelismError.invalidConfig(error.description)
        }
    }
}
