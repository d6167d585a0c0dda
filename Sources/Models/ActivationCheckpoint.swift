import Torch

/// Activation checkpointing (`torch.utils.checkpoint`, re-entrant form): a function's forward runs without
/// keeping its intermediate activations; backward runs it again from its saved input, with the random state it
/// first saw, and back-propagates through the recomputation.
///
/// Gradients of the parameters the function reads accumulate into their `.grad` during that inner backward, as
/// in PyTorch's re-entrant checkpoint; the gradient of the input is returned to the outer graph.
public enum ActivationCheckpoint {
    public static func apply(
        name: String = "CheckpointBackward", input: Tensor, _ function: @escaping (Tensor) throws -> Tensor
    ) throws -> Tensor {
        try apply(name: name, input: input, keeping: nil) { input, _ in try function(input) }
    }

    /// Selective form: with a `policy`, the function receives a cache that keeps the outputs of the operators the
    /// policy lists during the forward and hands them back during the recomputation (PyTorch's
    /// `create_selective_checkpoint_contexts`); without one it receives nil and everything is recomputed.
    static func apply(
        name: String, input: Tensor, keeping policy: SelectiveCheckpointPolicy?,
        _ function: @escaping (Tensor, OperatorOutputCache?) throws -> Tensor
    ) throws -> Tensor {
        let randomState = try Generator.defaultCPU.state()
        let saved = try input.detach()
        let cache = policy.map(OperatorOutputCache.init(policy:))
        let outputs = try CustomFunction.apply(
            name: name, inputs: [input],
            forward: { inputs in
                [try function(inputs[0], cache)]
            },
            backward: { gradOutputs in
                guard let gradient = gradOutputs[0] else { return [nil] }
                let current = try Generator.defaultCPU.state()
                try Generator.defaultCPU.setState(randomState)
                defer { try? Generator.defaultCPU.setState(current) }
                cache?.startReplay()
                let recomputeInput = try saved.detach().requiresGrad(true)
                let output = try Autograd.enableGrad { try function(recomputeInput, cache) }
                try Autograd.enableGrad { try output.backward(gradient) }
                return [recomputeInput.grad]
            })
        return outputs[0]
    }
}
