import CTorch

extension Functional {
    /// Causal scaled dot-product attention of `query` (B, H, T, D) over `key` and `value` (B, H_kv, T, D), where H is
    /// a multiple of H_kv (grouped-query attention reads each key/value head for its group of query heads), with
    /// scores scaled by `scale` (1/√D when nil).
    ///
    /// On the CPU this runs the shim's kernel (`ct_causal_attention`): per block of query rows one GEMM against the
    /// keys it may see, a vectorised softmax in cache and one GEMM with the values, and in backward the
    /// probabilities recomputed from one saved log-sum-exp per row, so memory stays linear in the sequence as with
    /// flash attention. For the short sequences and small heads of CPU training it is faster than libtorch's
    /// 64 × 64-tiled flash kernel (BENCHMARKS.md). float64 computes in float64, float32 in float32, and bf16/half
    /// in float32 with rounded results where the CPU has no bf16 arithmetic (as its GEMMs then do,
    /// ``Runtime/cpuBF16MatmulsUseFloat32``). Elsewhere (a GPU, other dtypes, `MODALITIES_CPU_ATTENTION=libtorch`)
    /// it is ``scaledDotProductAttention(query:key:value:mask:dropout:isCausal:scale:enableGQA:)`` with
    /// `isCausal: true`. No dropout; queries and keys must have the same length (no key/value cache).
    public static func causalAttention(query: Tensor, key: Tensor, value: Tensor, scale: Double? = nil) throws -> Tensor {
        // Under autocast, attention computes in autocast's dtype, as scaled_dot_product_attention does there: rotary
        // tables in float32 may have promoted queries and keys while values came out of a linear layer in bf16.
        if let dtype = Autocast.dtype(device: query.device),
            [query, key, value].contains(where: { $0.dtype != dtype && $0.dtype.isFloatingPoint })
        {
            return try causalAttention(
                query: query.to(dtype: dtype), key: key.to(dtype: dtype), value: value.to(dtype: dtype), scale: scale)
        }
        let scale = scale ?? 1 / Double(query.size(-1)).squareRoot()
        guard usesCPUCausalAttentionKernel(query, key, value) else {
            let repeats = key.shape.count == 4 && key.size(1) > 0 ? query.size(1) / key.size(1) : 1
            return try scaledDotProductAttention(
                query: query, key: key.repeatingHeads(repeats), value: value.repeatingHeads(repeats),
                isCausal: true, scale: scale)
        }
        var out: ct_tensor?
        try withExtendedLifetime((query, key, value)) {
            try check("causal attention", ct_causal_attention(query.handle, key.handle, value.handle, scale, &out))
        }
        return Tensor(owning: out!)
    }

    /// Whether ``causalAttention(query:key:value:scale:)`` runs the shim's CPU kernel for these tensors.
    public static func usesCPUCausalAttentionKernel(_ query: Tensor, _ key: Tensor, _ value: Tensor) -> Bool {
        guard query.device == .cpu, key.device == .cpu, value.device == .cpu, query.shape.count == 4,
            ct_causal_attention_available() == 1
        else { return false }
        switch query.dtype {
        case .float32, .float64: return true
        case .bfloat16, .float16: return Runtime.cpuBF16MatmulsUseFloat32
        default: return false
        }
    }
}

extension Tensor {
    /// A (B, H, T, D) tensor with each head repeated `times` times in a row, (B, H·times, T, D): key/value heads
    /// matched to their group of query heads for kernels without grouped-query support. `times` ≤ 1 returns self.
    public func repeatingHeads(_ times: Int) throws -> Tensor {
        guard times > 1 else { return self }
        let (batch, heads, length, size) = (self.size(0), self.size(1), self.size(2), self.size(3))
        return try unsqueeze(2).expand([batch, heads, times, length, size]).reshape([batch, heads * times, length, size])
    }
}
