import Torch

/// `model/compiled`: Modalities compiles each block that `block_names` lists with `torch.compile`. libtorch has no
/// compiler, so this wrapper marks the model instead: on a GPU the trainer captures the whole training step
/// (forward, loss, backward, gradient clipping, optimizer) as one CUDA graph after a warm-up and replays it for every
/// later step, which is what `torch.compile`'s reduce-overhead mode does with the launch overhead; on the CPU the
/// step runs eagerly on the shim's fused kernels. The trainer's log says which.
///
/// Forward, parameters and their state-dict names are the wrapped model's (no `_orig_mod.` inside the names, which
/// `torch.compile` adds to a compiled module's).
public final class CompiledModel: WrappingModel {
    public let wrapped: any Model
    /// The block classes Modalities would compile one by one (checked against the model when built).
    public let blockNames: [String]
    /// `fullgraph`: Modalities refuses graph breaks; a captured step has none by construction.
    public let fullGraph: Bool
    /// `debug`: the trainer logs how each step ran (eager warm-up, capture, replay, eager fallback).
    public let debug: Bool

    public init(wrapping model: any Model, blockNames: [String], fullGraph: Bool = true, debug: Bool = false) {
        wrapped = model
        self.blockNames = blockNames
        self.fullGraph = fullGraph
        self.debug = debug
    }

    public var parameters: ParameterStore { wrapped.parameters }
    public var seed: UInt64 { wrapped.seed }
    public var weightDecayGroups: [String: [String]] { wrapped.weightDecayGroups }

    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        try wrapped.forward(inputs, training: training)
    }
}
