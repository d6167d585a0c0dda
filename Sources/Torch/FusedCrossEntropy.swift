import CTorch

extension Functional {
    /// Mean cross entropy of `logits` (N × V) against `target` (N) that computes the gradient with respect to the
    /// logits during forward, in one cache-blocked pass, and keeps it in the logits' own memory
    /// (`ct_cross_entropy_with_gradient_`): no log-softmax output and no second full pass in backward, which is
    /// what PyTorch's `cross_entropy` spends on a large vocabulary.
    ///
    /// The logits are overwritten: use it where nothing reads them after the loss (a training step). Anything
    /// autograd saved from them makes backward fail loudly, never silently wrong. Without grad, for other dtypes
    /// or devices, or logits whose rows are not contiguous, this is ``crossEntropy(_:target:weight:reduction:ignoreIndex:labelSmoothing:)``.
    public static func crossEntropyReusingLogits(_ logits: Tensor, target: Tensor, ignoreIndex: Int = -100) throws -> Tensor {
        guard Autograd.isGradEnabled, logits.requiresGrad, logits.shape.count == 2, logits.dtype == .float32, logits.device == .cpu,
            logits.strides.last == 1
        else {
            return try crossEntropy(logits, target: target, ignoreIndex: ignoreIndex)
        }
        final class GradientBox: @unchecked Sendable { var gradient: Tensor? }
        let box = GradientBox()
        return try CustomFunction.apply(
            name: "FusedCrossEntropyBackward", inputs: [logits],
            forward: { inputs in
                let buffer = try inputs[0].detach()
                var loss: ct_tensor?
                try withExtendedLifetime(target) {
                    try check(
                        "fused cross entropy", ct_cross_entropy_with_gradient_(buffer.handle, target.handle, Int64(ignoreIndex), &loss))
                }
                box.gradient = buffer
                return [Tensor(owning: loss!)]
            },
            backward: { gradOutputs in
                guard let gradOutput = gradOutputs[0], let gradient = box.gradient else { return [nil] }
                box.gradient = nil
                let factor = try gradOutput.item(Double.self)
                if factor != 1 { try gradient.mul_(factor) }
                return [gradient]
            })[0]
    }
}
