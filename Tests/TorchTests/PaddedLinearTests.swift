import Testing

@testable import Torch

/// The LM head's linear with padded output rows: the same values and gradients as `linear`, in padded memory only
/// where a row's bytes are a multiple of 4 KB.
@Suite struct PaddedLinearTests {
    @Test func paddedRowsHoldTheLinearResultAndItsGradients() throws {
        let generator = try Generator(seed: 11)
        let input = try Tensor.randn([3, 5, 32], generator: generator)
        let weight = try Tensor.randn([1024, 32], generator: generator)  // 4 KB of float32 per row: padded
        let upstream = try Tensor.randn([3, 5, 1024], generator: generator)

        let (x, w) = (try input.detach().requiresGrad(true), try weight.detach().requiresGrad(true))
        let padded = try Functional.linearPaddingRows(x, weight: w)
        #expect(padded.shape == [3, 5, 1024])
        #expect(padded.strides == [5 * 1040, 1040, 1], "one 64-byte line of padding per row")
        try (padded * upstream).sum().backward()

        let (x2, w2) = (try input.detach().requiresGrad(true), try weight.detach().requiresGrad(true))
        let plain = try Functional.linear(x2, weight: w2)
        try (plain * upstream).sum().backward()

        #expect(try (padded - plain).abs().max().item(Double.self) < 1e-5)
        #expect(try (#require(x.grad) - #require(x2.grad)).abs().max().item(Double.self) < 1e-4)
        #expect(try (#require(w.grad) - #require(w2.grad)).abs().max().item(Double.self) < 1e-4)
        // Views of the logits work as on contiguous ones.
        #expect(try padded.reshape([-1, 1024]).strides == [1040, 1])
    }

    @Test func otherWidthsAreThePlainLinear() throws {
        let input = try Tensor.randn([4, 16])
        let out = try Functional.linearPaddingRows(input, weight: try Tensor.randn([1000, 16]))
        #expect(out.isContiguous)
        #expect(
            try Functional.linearPaddingRows(input.to(dtype: .float64), weight: try Tensor.randn([1024, 16], dtype: .float64)).strides == [
                1032, 1,
            ])
    }

    @Test func theFusedCrossEntropyTrainsThroughPaddedLogits() throws {
        let generator = try Generator(seed: 12)
        let hidden = try Tensor.randn([64, 16], generator: generator)
        let weight = try Tensor.randn([2048, 16], generator: generator)
        let target = try Tensor.randint(0, 2048, [64], generator: generator)

        let (x, w) = (try hidden.detach().requiresGrad(true), try weight.detach().requiresGrad(true))
        let loss = try Functional.crossEntropyReusingLogits(Functional.linearPaddingRows(x, weight: w), target: target)
        try loss.backward()
        let (x2, w2) = (try hidden.detach().requiresGrad(true), try weight.detach().requiresGrad(true))
        let expected = try Functional.crossEntropy(Functional.linear(x2, weight: w2), target: target)
        try expected.backward()

        #expect(Swift.abs(try loss.item(Double.self) - expected.item(Double.self)) < 1e-5)
        #expect(try (#require(w.grad) - #require(w2.grad)).abs().max().item(Double.self) < 1e-6)
        #expect(try (#require(x.grad) - #require(x2.grad)).abs().max().item(Double.self) < 1e-6)
    }
}
