import Testing
import Torch

/// bf16 matrix products on the CPU: on CPUs without bf16 arithmetic the shim runs them as float32 GEMMs with bf16
/// results. Either way they must be what a bf16 GEMM computes: bf16 operands multiplied and summed in float32, the
/// result rounded to bf16 (half an ulp: 2⁻⁸ relative).
@Suite struct BFloat16MatmulTests {
    static let halfUlp = 1.0 / 256

    /// bf16 values (so both sides start from the same operands) and their float64 copy.
    func operands(_ shape: [Int], seed: UInt64) throws -> (bf16: Tensor, float64: Tensor) {
        let values = try Tensor.randn(shape, generator: Generator(seed: seed)).to(dtype: .bfloat16)
        return (values, try values.to(dtype: .float64))
    }

    /// Every element within half a bf16 ulp of the float64 result (plus a little for float32 sums).
    func expectRoundedFrom(_ result: Tensor, _ reference: Tensor, _ label: String) throws {
        #expect(result.dtype == .bfloat16, "\(label)")
        let error = try (result.to(dtype: .float64) - reference).abs()
        let allowed = try reference.abs() * Self.halfUlp + 1e-4
        #expect(try (error - allowed).max().item(Double.self) <= 0, "\(label)")
    }

    @Test func mmAddmmAndBmmAreBF16GEMMs() throws {
        let (a, a64) = try operands([48, 96], seed: 1)
        let (b, b64) = try operands([96, 40], seed: 2)
        try expectRoundedFrom(try a.mm(b), try a64.mm(b64), "mm")
        // A linear layer with bias is addmm.
        let (weight, weight64) = try operands([40, 96], seed: 3)
        let (bias, bias64) = try operands([40], seed: 4)
        try expectRoundedFrom(
            try Functional.linear(a, weight: weight, bias: bias),
            try Functional.linear(a64, weight: weight64, bias: bias64), "addmm")
        let (x, x64) = try operands([3, 16, 32], seed: 5)
        let (y, y64) = try operands([3, 32, 8], seed: 6)
        try expectRoundedFrom(try x.bmm(y), try x64.bmm(y64), "bmm")
        if Runtime.cpuBF16MatmulsUseFloat32 {
            // Exactly the float32 GEMM rounded to bf16.
            let viaFloat32 = try a.to(dtype: .float32).mm(b.to(dtype: .float32)).to(dtype: .bfloat16)
            #expect(try (a.mm(b).to(dtype: .float32) - viaFloat32.to(dtype: .float32)).abs().max().item(Double.self) == 0)
        }
        // Other dtypes take libtorch's kernels unchanged.
        let float32 = try a.to(dtype: .float32).mm(b.to(dtype: .float32))
        #expect(float32.dtype == .float32)
        #expect(try (float32.to(dtype: .float64) - a64.mm(b64)).abs().max().item(Double.self) < 1e-4)
    }

    @Test func gradientsThroughBF16ProductsAndFlashAttentionFollowFloat32() throws {
        // Autograd's backward of mm and of flash attention runs the same kernels on bf16 gradients.
        func gradients(_ dtype: DType) throws -> [Tensor] {
            let generator = try Generator(seed: 7)
            let shape = [2, 2, 16, 8]
            let base = try (0..<4).map { _ in try Tensor.randn(shape, generator: generator).to(dtype: .bfloat16) }
            let (q, k, v) = try (
                base[0].to(dtype: dtype).requiresGrad(true), base[1].to(dtype: dtype).requiresGrad(true),
                base[2].to(dtype: dtype).requiresGrad(true)
            )
            let weight = try base[3].to(dtype: dtype).reshape([-1, 8]).narrow(0, start: 0, length: 8).requiresGrad(true)
            let attention = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
            let projected = try attention.reshape([-1, 8]).mm(weight)
            try (projected.to(dtype: .float32) * projected.to(dtype: .float32)).sum().backward()
            return try [q, k, v, weight].map { try #require($0.grad).to(dtype: .float64) }
        }
        let bf16 = try gradients(.bfloat16)
        let float32 = try gradients(.float32)
        for (index, (low, reference)) in zip(bf16, float32).enumerated() {
            // bf16 activations and gradients on the way: a few ulps, relative to the gradient's scale.
            let scale = try reference.abs().max().item(Double.self)
            let error = try (low - reference).abs().max().item(Double.self)
            #expect(error <= 0.05 * scale, "gradient \(index): error \(error), scale \(scale)")
        }
    }
}
