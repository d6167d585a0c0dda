import Distributed
import Models
import Torch

/// The model parts one rank holds in a pipeline, one per stage (several under interleaved schedules), as the model
/// the rest of a run sees (Modalities' `model_parts`): wrappers apply to each part, the optimizer and the gradient
/// clipper see all their parameters, and the pipeline's schedule runs their forwards and backwards.
public final class PipelineModelParts: Model {
    /// The parts in stage order, each with its stage's layout.
    public let parts: [any Model]
    public let layouts: [PipelineStageLayout]
    /// The group of the pipeline's ranks (the mesh's `pp` dimension); nil for thread ranks in tests.
    public let group: ProcessGroup?
    /// Elements of the whole model's parameters (every stage's), for reports.
    public let wholeParameterCount: Int
    public let parameters: ParameterStore

    /// - Throws: ``ParallelismError/invalidConfig(_:)`` when the parts and layouts differ in number, or two parts
    ///   share a parameter name.
    public init(parts: [any Model], layouts: [PipelineStageLayout], group: ProcessGroup?, wholeParameterCount: Int) throws {
        guard parts.count == layouts.count, !parts.isEmpty else {
            throw ParallelismError.invalidConfig(
                "a pipeline rank needs one model part per stage (found \(parts.count) for \(layouts.count))")
        }
        let store = ParameterStore(dtype: parts[0].parameters.named.first?.tensor.dtype ?? .float32)
        for part in parts {
            for (name, tensor) in part.parameters.named {
                guard store.tensors[name] == nil else {
                    throw ParallelismError.invalidConfig("two pipeline stages on one rank both hold \(name)")
                }
                store.register(name, tensor)
            }
        }
        self.parts = parts
        self.layouts = layouts
        self.group = group
        self.wholeParameterCount = wholeParameterCount
        parameters = store
    }

    /// The same stages with `transform` applied to each part (a wrapper, a tensor-parallel split).
    public func map(_ transform: (any Model) throws -> any Model) throws -> PipelineModelParts {
        try PipelineModelParts(parts: parts.map(transform), layouts: layouts, group: group, wholeParameterCount: wholeParameterCount)
    }

    public var seed: UInt64 { parts[0].seed }
    public var parameterCount: Int { wholeParameterCount }

    /// The groups of every part, with the patterns of each group merged.
    public var weightDecayGroups: [String: [String]] {
        parts.reduce(into: [:]) { groups, part in
            for (group, patterns) in part.weightDecayGroups {
                groups[group, default: []] += patterns.filter { !(groups[group] ?? []).contains($0) }
            }
        }
    }

    /// The parts run through the pipeline's schedule (`pipeline/scheduled`), never as one forward.
    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        throw ParallelismError.invalidConfig(
            "the model is this rank's pipeline stages \(layouts.map(\.index)): it runs through the scheduled pipeline (scheduled_pipeline), not as one forward"
        )
    }
}

extension PipelineModelParts: GradientSynchronizing {
    public func prepareBackward(lastMicroBatch: Bool) {
        for part in parts { (part as? GradientSynchronizing)?.prepareBackward(lastMicroBatch: lastMicroBatch) }
    }

    public func synchronizeGradients() throws {
        for part in parts { try (part as? GradientSynchronizing)?.synchronizeGradients() }
    }
}
