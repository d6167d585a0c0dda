import Testing

@testable import Torch

/// The shim's CPU causal attention against attention written out in float64 (scores, causal mask, softmax, values),
/// forward and gradients, with the layouts and head groupings the models give it.
@Suite struct CausalAttentionTests {
    /// Attention written out, key/value heads repeated for their group of query heads.
    func reference(_ q: Tensor, _ k: Tensor, _ v: Tensor) throws -> Tensor {
        let (batch, heads, length, size) = (q.size(0), q.size(1), q.size(2), q.size(3))
        let repeats = heads / k.size(1)
        func repeated(_ t: Tensor) throws -> Tensor {
            try t.unsqueeze(2).expand([batch, t.size(1), repeats, length, size]).reshape([batch, heads, length, size])
        }
        let future = try Tensor.ones([length, length], dtype: .bool).triu(1)
        let scores = try q.matmul(repeated(k).transpose(-2, -1)) / Double(size).squareRoot()
        return try scores.maskedFill(future, -Double.infinity).softmax(dim: -1).matmul(repeated(v))
    }

    /// (B, H, T, D) inputs laid out (B, T, H, D) in memory, as `view(B, T, H, D).transpose(1, 2)` leaves a projection.
    func input(batch: Int, heads: Int, length: Int, size: Int, seed: UInt64, dtype: DType) throws -> Tensor {
        try Tensor.randn([batch, length, heads, size], dtype: .float64, generator: Generator(seed: seed)).to(dtype: dtype)
            .transpose(1, 2)
    }

    /// Output and gradients of the kernel in `dtype` and of the float64 reference, for one upstream gradient.
    func compare(
        batch: Int = 2, heads: Int, keyValueHeads: Int, length: Int, size: Int, dtype: DType
    ) throws
        -> (output: Double, gradients: [Double])
    {
        let inputs = try [(heads, 1), (keyValueHeads, 2), (keyValueHeads, 3)].map {
            try input(batch: batch, heads: $0.0, length: length, size: size, seed: UInt64($0.1), dtype: dtype)
        }
        let upstream = try Tensor.randn([batch, heads, length, size], dtype: .float64, generator: Generator(seed: 4))

        let leaves = try inputs.map { try $0.detach().requiresGrad(true) }
        #expect(Functional.usesCPUCausalAttentionKernel(leaves[0], leaves[1], leaves[2]))
        let output = try Functional.causalAttention(query: leaves[0], key: leaves[1], value: leaves[2])
        #expect(output.dtype == dtype && output.shape == [batch, heads, length, size])
        try (output.to(dtype: .float64) * upstream).sum().backward()

        let exact = try inputs.map { try $0.to(dtype: .float64).detach().requiresGrad(true) }
        let expected = try reference(exact[0], exact[1], exact[2])
        try (expected * upstream).sum().backward()

        func error(_ a: Tensor, _ b: Tensor) throws -> Double {
            try ((a.to(dtype: .float64) - b).abs().max() / b.abs().max().clamp(min: 1e-30)).item(Double.self)
        }
        return (try error(output, expected), try zip(leaves, exact).map { try error(#require($0.grad), #require($1.grad)) })
    }

    @Test(arguments: [(4, 4, 256, 64), (4, 2, 70, 16), (6, 1, 129, 8), (2, 2, 1, 4)])
    func float64MatchesWrittenOutAttention(heads: Int, keyValueHeads: Int, length: Int, size: Int) throws {
        // Sequences that are not a multiple of the kernel's 64-row blocks, grouped-query and multi-query heads.
        let errors = try compare(heads: heads, keyValueHeads: keyValueHeads, length: length, size: size, dtype: .float64)
        #expect(errors.output < 1e-12)
        #expect(errors.gradients.allSatisfy { $0 < 1e-11 }, "\(errors.gradients)")
    }

    @Test func float32IsWithinFloat32Rounding() throws {
        let errors = try compare(heads: 4, keyValueHeads: 2, length: 200, size: 32, dtype: .float32)
        #expect(errors.output < 1e-5)
        #expect(errors.gradients.allSatisfy { $0 < 1e-4 }, "\(errors.gradients)")
    }

    @Test func bf16ComputesInFloat32WhereTheCPUHasNoBF16Arithmetic() throws {
        guard Runtime.cpuBF16MatmulsUseFloat32 else { return }
        let errors = try compare(heads: 2, keyValueHeads: 2, length: 80, size: 16, dtype: .bfloat16)
        // Inputs are bf16 values exactly; the output and gradients are rounded to bf16 once.
        #expect(errors.output < 1.0 / 128)
        #expect(errors.gradients.allSatisfy { $0 < 1.0 / 64 }, "\(errors.gradients)")
    }

    @Test func agreesWithScaledDotProductAttention() throws {
        let q = try input(batch: 2, heads: 4, length: 96, size: 32, seed: 5, dtype: .float32)
        let k = try input(batch: 2, heads: 4, length: 96, size: 32, seed: 6, dtype: .float32)
        let v = try input(batch: 2, heads: 4, length: 96, size: 32, seed: 7, dtype: .float32)
        let ours = try Functional.causalAttention(query: q, key: k, value: v, scale: 0.3)
        let theirs = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true, scale: 0.3)
        #expect(try (ours - theirs).abs().max().item(Double.self) < 1e-5)
        // Laid out (B, T, H, D), so merging the heads back is a view.
        #expect(try ours.transpose(1, 2).isContiguous)
    }

    /// Under bf16 autocast, rotary tables in float32 promote queries and keys while values stay bf16 (Modalities'
    /// warmstart tutorial model); attention then computes in bf16, as scaled_dot_product_attention does under autocast.
    @Test func mixedDTypesUnderAutocastComputeInItsDType() throws {
        let q = try input(batch: 1, heads: 4, length: 16, size: 8, seed: 5, dtype: .float32)
        let k = try input(batch: 1, heads: 2, length: 16, size: 8, seed: 6, dtype: .float32)
        let v = try input(batch: 1, heads: 2, length: 16, size: 8, seed: 7, dtype: .bfloat16)
        let out = try Autocast.scope(device: .cpu, dtype: .bfloat16) {
            #expect(Autocast.dtype(device: .cpu) == .bfloat16)
            return try Functional.causalAttention(query: q, key: k, value: v)
        }
        #expect(out.dtype == .bfloat16)
        #expect(Autocast.dtype(device: .cpu) == nil)
        let reference = try Functional.causalAttention(query: q.to(dtype: .bfloat16), key: k.to(dtype: .bfloat16), value: v)
        #expect(try (out.to(dtype: .float32) - reference.to(dtype: .float32)).abs().max().item(Double.self) == 0)
    }

    @Test func otherDTypesTakeScaledDotProductAttention() throws {
        let q = try Tensor.randn([1, 2, 8, 4], dtype: .float64)
        #expect(!Functional.usesCPUCausalAttentionKernel(try q.to(dtype: .int64), q, q))
    }

    @Test func mismatchedShapesAreRefused() throws {
        let q = try Tensor.randn([1, 3, 8, 4]), k = try Tensor.randn([1, 2, 8, 4]), short = try Tensor.randn([1, 3, 5, 4])
        #expect(throws: TorchError.self) { try Functional.causalAttention(query: q, key: k, value: k) }
        #expect(throws: TorchError.self) { try Functional.causalAttention(query: q, key: short, value: short) }
    }
}
