import CTorch

extension Functional {
    /// `input` (…, K) × `weight` (N, K)ᵀ without bias, as ``linear(_:weight:bias:)``, but with the output's rows
    /// padded in memory by one cache line when N values per row would make the row stride a multiple of 4 KB
    /// (`ct_linear_padding_rows`). Meant for an LM head: with a vocabulary such as 8192 the GEMM that writes the logits,
    /// and the one that reads their gradient, otherwise hit cache-set conflicts (about 20% slower on the CPUs we
    /// measured, BENCHMARKS.md). The result has unit stride within rows and is a view of the padded memory; losses,
    /// `reshape` and slicing work on it as on contiguous logits. Other devices, CPU autocast and shapes that need no
    /// padding give exactly ``linear(_:weight:bias:)``.
    public static func linearPaddingRows(_ input: Tensor, weight: Tensor) throws -> Tensor {
        var out: ct_tensor?
        try withExtendedLifetime((input, weight)) {
            try check("linear with padded rows", ct_linear_padding_rows(input.handle, weight.handle, &out))
        }
        return Tensor(owning: out!)
    }
}
