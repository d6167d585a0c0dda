import CTorch

/// An autograd operation whose forward and backward are Swift closures (`torch.autograd.Function`).
///
/// Activation checkpointing and FSDP's pre-backward gather are built on it: the forward may run anything, and
/// the backward receives the gradients of the outputs and returns those of the inputs.
public enum CustomFunction {
    typealias Backward = ([Tensor?]) throws -> [Tensor?]

    /// Runs `forward` on `inputs` without recording history, then attaches `backward` to the results.
    ///
    /// - Parameters:
    ///   - name: the name of the graph node, as ``Tensor/gradFunctionName`` shows it.
    ///   - forward: computes the outputs; runs on the calling thread with grad mode off.
    ///   - backward: given one gradient per output (nil for outputs that received none), returns one gradient
    ///     per input (nil for none), each shaped like its input. It runs on the thread executing backward and may
    ///     itself use autograd (enable grad inside to recompute, as checkpointing does). Capture inputs or other
    ///     tensors it needs, not the outputs: an output holds the node that holds the closure.
    /// - Returns: the outputs, now connected to the inputs' graph when any input requires grad.
    public static func apply(
        name: String = "SwiftFunctionBackward",
        inputs: [Tensor],
        forward: ([Tensor]) throws -> [Tensor],
        backward: @escaping ([Tensor?]) throws -> [Tensor?]
    ) throws -> [Tensor] {
        let outputs = try Autograd.noGrad { try forward(inputs) }
        let inputCount = inputs.count
        let checkedBackward: Backward = { gradOutputs in
            let gradInputs = try backward(gradOutputs)
            guard gradInputs.count == inputCount else {
                throw TorchError.callbackFailed("\(name) returned \(gradInputs.count) gradients for \(inputCount) inputs")
            }
            return gradInputs
        }
        let trampoline: ct_backward_fn = { context, gradOutputs, outputCount, gradInputs, inputCount in
            do {
                let grads = (0..<Int(outputCount)).map { index in gradOutputs![index].map(Tensor.init(owning:)) }
                let results = try CallbackBox<Backward>.from(context)(grads)
                for (index, result) in results.enumerated() where index < Int(inputCount) {
                    gradInputs![index] = result.map { ct_tensor_retain($0.handle) }
                }
                return 0
            } catch {
                return reportCallbackError(error)
            }
        }
        let inputHandles: [ct_tensor?] = inputs.map { $0.handle }
        let outputHandles: [ct_tensor?] = outputs.map { $0.handle }
        var wrapped = [ct_tensor?](repeating: nil, count: outputs.count)
        try withExtendedLifetime((inputs, outputs)) {
            try check(
                name,
                ct_custom_function_apply(
                    inputHandles, Int64(inputs.count), outputHandles,
                    Int64(outputs.count), name, trampoline,
                    CallbackBox<Backward>(checkedBackward).opaque,
                    releaseCallbackBox, &wrapped))
        }
        return wrapped.map { Tensor(owning: $0!) }
    }
}
