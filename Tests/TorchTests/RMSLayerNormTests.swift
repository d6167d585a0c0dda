import Testing

@testable import Torch

/// Modalities' RMSLayerNorm through the shim's kernel: values and gradients (input, weight, bias) against the same
/// formula written as ATen operators in float64, with and without bias, on non-contiguous input, and the composite
/// path for the cases the kernel leaves alone.
@Suite struct RMSLayerNormTests {
    /// x / sqrt(mean(x²) + eps) · w (+ b) as ATen operators, in the inputs' dtype.
    func reference(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, eps: Double) throws -> Tensor {
        let scaled = try x * (x.pow(2).mean(dims: [-1], keepDim: true) + eps).rsqrt() * weight
        return try bias.map { try scaled + $0 } ?? scaled
    }

    func maxError(_ a: Tensor, _ b: Tensor) throws -> Double {
        try (a.to(dtype: .float64) - b.to(dtype: .float64)).abs().max().item(Double.self)
    }

    @Test(arguments: [false, true])
    func valuesAndGradientsMatchTheFormula(withBias: Bool) throws {
        let generator = try Generator(seed: 21)
        let input = try Tensor.randn([3, 7, 96], generator: generator) * 2 + 0.5
        let weight = try Tensor.randn([96], generator: generator)
        let bias = withBias ? try Tensor.randn([96], generator: generator) : nil
        let upstream = try Tensor.randn([3, 7, 96], generator: generator)

        func run(_ dtype: DType, kernel: Bool) throws -> [Tensor] {
            // Fresh leaves each run (`to` of the same dtype returns the tensor itself).
            let x = try input.to(dtype: dtype).detach().requiresGrad(true)
            let w = try weight.to(dtype: dtype).detach().requiresGrad(true)
            let b = try bias?.to(dtype: dtype).detach().requiresGrad(true)
            let y = kernel ? try Functional.rmsLayerNorm(x, weight: w, bias: b, eps: 1e-5) : try reference(x, w, b, eps: 1e-5)
            try (y * upstream.to(dtype: dtype)).sum().backward()
            return try [y, #require(x.grad), #require(w.grad)] + (b.map { [try #require($0.grad)] } ?? [])
        }
        let expected = try run(.float64, kernel: false)
        for (dtype, tolerance) in [(DType.float32, 1e-4), (.float64, 1e-12)] {
            let results = try run(dtype, kernel: true)
            #expect(results.count == expected.count)
            for (index, (result, reference)) in zip(results, expected).enumerated() {
                #expect(result.dtype == dtype)
                let scale = try reference.abs().max().item(Double.self)
                let error = try maxError(result, reference)
                #expect(error <= tolerance * Swift.max(scale, 1), "\(dtype) output \(index): error \(error)")
            }
        }
    }

    @Test func nonContiguousInputAndFrozenWeight() throws {
        let generator = try Generator(seed: 22)
        let base = try Tensor.randn([64, 5, 32], generator: generator)
        let input = try base.transpose(0, 1).requiresGrad(true)  // (5, 64, 32), rows not adjacent
        let weight = try Tensor.randn([32], generator: generator)  // no gradient wanted
        let y = try Functional.rmsLayerNorm(input, weight: weight, eps: 1e-6)
        #expect(y.shape == [5, 64, 32])
        #expect(try maxError(y, reference(input.detach().to(dtype: .float64), weight.to(dtype: .float64), nil, eps: 1e-6)) < 1e-5)
        try y.sum().backward()
        #expect(try #require(input.grad).shape == [5, 64, 32])
        #expect(weight.grad == nil)
    }

    @Test func otherDTypesTakeTheComposite() throws {
        let input = try Tensor.randn([4, 16], generator: Generator(seed: 23))
        let weight = try Tensor.randn([16], generator: Generator(seed: 24))
        // bf16: normalised in float32, cast to bf16, then scaled (Modalities' order).
        let low = try Functional.rmsLayerNorm(input.to(dtype: .bfloat16), weight: weight.to(dtype: .bfloat16), eps: 1e-5)
        #expect(low.dtype == .bfloat16)
        let float = try input.to(dtype: .bfloat16).to(dtype: .float32)
        let expected =
            try ((float * (float.pow(2).mean(dims: [-1], keepDim: true) + 1e-5).rsqrt()).to(dtype: .bfloat16) * weight.to(dtype: .bfloat16))
        #expect(try maxError(low, expected) == 0)
        // Functional.rmsNorm (torch.nn.RMSNorm) takes the kernel over the last dimension in float32, and is exactly
        // libtorch's rms_norm otherwise (in bf16 it rounds slightly differently from Modalities' composite).
        let rmsNorm = Operator("aten::rms_norm")
        let viaKernel = try Functional.rmsNorm(input, normalizedShape: [16], weight: weight, eps: 1e-5)
        let viaLibtorch = try rmsNorm.callAsTensor([.tensor(input), .ints([16]), .tensor(weight), .double(1e-5)])
        #expect(try maxError(viaKernel, viaLibtorch) < 1e-6)
        let lowInput = try input.to(dtype: .bfloat16), lowWeight = try weight.to(dtype: .bfloat16)
        let lowTorch = try Functional.rmsNorm(lowInput, normalizedShape: [16], weight: lowWeight, eps: 1e-5)
        let lowLibtorch = try rmsNorm.callAsTensor([.tensor(lowInput), .ints([16]), .tensor(lowWeight), .double(1e-5)])
        #expect(try maxError(lowTorch, lowLibtorch) == 0)
        // A weight of the wrong width is libtorch's error, not a crash.
        #expect(throws: TorchError.self) { try Functional.rmsLayerNorm(input, weight: try Tensor.ones([8]), eps: 1e-5) }
    }
}
