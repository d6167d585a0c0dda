import CTorch

extension Functional {
    /// Modalities' RMSLayerNorm over the last dimension: `input / sqrt(mean(input²) + eps) · weight (+ bias)`, the
    /// normalisation computed in float32 and cast back to the input's dtype before the weight (as Modalities does).
    ///
    /// Float32 and float64 CPU tensors run the shim's kernel (`ct_rms_layer_norm`: one pass per row forward and
    /// backward instead of some eight ATen operators; float64 computes in float64); other dtypes, other devices and
    /// CPU autocast run the same computation as ATen operators. Differentiable in `input`, `weight` and `bias`.
    public static func rmsLayerNorm(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, eps: Double) throws -> Tensor {
        try rmsNormOverLastDimension(input, weight: weight, bias: bias, eps: eps, torchForm: false)
    }

    /// `ct_rms_layer_norm`: the kernel where it applies, else Modalities' composite or (`torchForm`) libtorch's
    /// `rms_norm`, which ``rmsNorm(_:normalizedShape:weight:eps:)`` keeps for the cases the kernel leaves alone.
    static func rmsNormOverLastDimension(_ input: Tensor, weight: Tensor, bias: Tensor?, eps: Double, torchForm: Bool) throws -> Tensor {
        var out: ct_tensor?
        try withExtendedLifetime((input, weight, bias)) {
            try check(
                torchForm ? "rms_norm" : "RMS layer norm",
                ct_rms_layer_norm(input.handle, weight.handle, bias?.handle, eps, torchForm ? 1 : 0, &out))
        }
        return Tensor(owning: out!)
    }
}
