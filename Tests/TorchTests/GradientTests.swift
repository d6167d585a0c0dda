import Testing

@testable import Torch

/// Every differentiable operation's backward against central finite differences in float64.
@Suite struct GradientTests {
    @Test func arithmeticAndBroadcasting() throws {
        let a = try randomTensor([2, 3], seed: 1)
        let b = try randomTensor([3], seed: 2)
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try x[0] + x[1] }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try x[0] - x[1] * 2.5 }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try x[0] * x[1] }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try x[0] / (x[1].abs() + 1) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try -x[0] + 1.5 }
    }

    @Test func elementwiseMath() throws {
        let a = try randomTensor([2, 3], seed: 3)
        let positive = try a.abs() + 0.5
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].exp() }
        try expectGradientsMatchFiniteDifferences([positive]) { x in try x[0].log() }
        try expectGradientsMatchFiniteDifferences([positive]) { x in try x[0].sqrt() }
        try expectGradientsMatchFiniteDifferences([positive]) { x in try x[0].rsqrt() }
        try expectGradientsMatchFiniteDifferences([positive]) { x in try x[0].pow(3) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].sin() * x[0].cos() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].tanh() + x[0].sigmoid() }
    }

    @Test func activations() throws {
        let a = try randomTensor([3, 4], seed: 4)
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].gelu() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].gelu(approximate: .tanh) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].silu() }
        // Shift away from the kink at zero, where the finite difference is undefined.
        let awayFromZero = try a + a.ge(0).to(dtype: .float64) * 0.1 - 0.05
        try expectGradientsMatchFiniteDifferences([awayFromZero]) { x in try x[0].relu() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].softmax(dim: -1) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].logSoftmax(dim: 1) }
    }

    @Test func reductions() throws {
        let a = try randomTensor([3, 4], seed: 5)
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].sum() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].sum(dims: [0]) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].mean() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].mean(dims: [1], keepDim: true) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].max() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].max(dim: 1).values }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].norm() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].variance(dims: [1]) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].cumsum(1) }
    }

    @Test func matrixProducts() throws {
        let a = try randomTensor([2, 3, 4], seed: 6)
        let b = try randomTensor([2, 4, 5], seed: 7)
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try x[0].bmm(x[1]) }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try x[0].matmul(x[1]) }
        let m = try randomTensor([3, 4], seed: 8)
        let n = try randomTensor([4, 2], seed: 9)
        try expectGradientsMatchFiniteDifferences([m, n]) { x in try x[0].mm(x[1]) }
        let weight = try randomTensor([5, 4], seed: 10)
        let bias = try randomTensor([5], seed: 11)
        try expectGradientsMatchFiniteDifferences([m, weight, bias]) { x in
            try Functional.linear(x[0], weight: x[1], bias: x[2])
        }
    }

    @Test func viewsAndJoins() throws {
        let a = try randomTensor([2, 3, 4], seed: 12)
        let b = try randomTensor([2, 3, 4], seed: 13)
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].reshape([6, 4]) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].transpose(0, 2).contiguous() }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].permute([2, 0, 1]) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].narrow(2, start: 1, length: 2) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].slice(1, start: 0, end: 3, step: 2) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].select(0, 1) }
        let index = try Tensor([2, 0, 2], shape: [3])
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].indexSelect(2, index) }
        let gatherIndex = try Tensor.randint(0, 4, [2, 3, 2], generator: Generator(seed: 1))
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].gather(2, gatherIndex) }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try Tensor.cat([x[0], x[1]], dim: 1) }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try Tensor.stack([x[0], x[1]], dim: 0) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try Tensor.cat(x[0].split(3, dim: 2).reversed(), dim: 2) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].chunk(2, dim: 0)[1] }
        let column = try randomTensor([2, 1, 4], seed: 14)
        try expectGradientsMatchFiniteDifferences([column]) { x in try x[0].expand([2, 3, 4]) }
        let mask = try a.gt(0.5)
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].maskedFill(mask, 0) }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try Tensor.where(mask, x[0], x[1]) }
    }

    @Test func normalisationAndEmbedding() throws {
        let input = try randomTensor([3, 6], seed: 15)
        let weight = try randomTensor([6], seed: 16)
        let bias = try randomTensor([6], seed: 17)
        try expectGradientsMatchFiniteDifferences([input, weight, bias], tolerance: 1e-5) { x in
            try Functional.layerNorm(x[0], normalizedShape: [6], weight: x[1], bias: x[2])
        }
        try expectGradientsMatchFiniteDifferences([input, weight], tolerance: 1e-5) { x in
            try Functional.rmsNorm(x[0], normalizedShape: [6], weight: x[1], eps: 1e-6)
        }
        let table = try randomTensor([5, 3], seed: 18)
        let tokens = try Tensor([4, 0, 4, 2], shape: [2, 2])
        try expectGradientsMatchFiniteDifferences([table]) { x in try Functional.embedding(tokens, weight: x[0]) }
    }

    @Test func lossesAndAttention() throws {
        let logits = try randomTensor([4, 5], seed: 19)
        let target = try Tensor([1, 4, -100, 0], shape: [4])
        try expectGradientsMatchFiniteDifferences([logits]) { x in
            try Functional.crossEntropy(x[0], target: target, ignoreIndex: -100)
        }
        try expectGradientsMatchFiniteDifferences([logits]) { x in
            try Functional.crossEntropy(x[0], target: target, reduction: .sum, labelSmoothing: 0.1)
        }
        let query = try randomTensor([1, 4, 3, 2], seed: 20)
        let key = try randomTensor([1, 2, 3, 2], seed: 21)
        let value = try randomTensor([1, 2, 3, 2], seed: 22)
        try expectGradientsMatchFiniteDifferences([query, key, value], tolerance: 1e-5) { x in
            try Functional.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], isCausal: true, enableGQA: true)
        }
    }

    @Test func dropoutWithProbabilityZeroIsIdentity() throws {
        let a = try randomTensor([3, 3], seed: 23)
        try expectGradientsMatchFiniteDifferences([a]) { x in try Functional.dropout(x[0], p: 0, training: true) }
    }

    @Test func clampingAndPairwiseExtremes() throws {
        let a = try randomTensor([3, 4], seed: 24)
        let b = try randomTensor([3, 4], seed: 25)
        // Values near the clamp bounds or ties would sit on a kink; the random inputs stay clear of them.
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].clamp(min: -0.5, max: 0.7) }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try Tensor.minimum(x[0], x[1]) }
        try expectGradientsMatchFiniteDifferences([a, b]) { x in try Tensor.maximum(x[0], x[1]) }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].abs() }
    }

    @Test func indexingProductsAndOtherLosses() throws {
        let a = try randomTensor([4, 3], seed: 26)
        let rows = try Tensor([3, 0, 3], shape: [3])
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].index([rows]) }
        let source = try randomTensor([2, 3], seed: 27)
        let scatterIndex = try Tensor([0, 3, 1, 2, 2, 0], shape: [2, 3])
        try expectGradientsMatchFiniteDifferences([a, source]) { x in try x[0].scatterAdd(0, scatterIndex, x[1]) }
        let u = try randomTensor([3], seed: 28)
        let v = try randomTensor([4], seed: 29)
        try expectGradientsMatchFiniteDifferences([u, v]) { x in try x[0].outer(x[1]) }
        let target = try randomTensor([4, 3], seed: 30)
        try expectGradientsMatchFiniteDifferences([a, target]) { x in try Functional.mseLoss(x[0], target: x[1]) }
        let labels = try Tensor([2, -100, 0, 1], shape: [4])
        try expectGradientsMatchFiniteDifferences([a]) { x in
            try Functional.nllLoss(x[0].logSoftmax(dim: 1), target: labels)
        }
        try expectGradientsMatchFiniteDifferences([a]) { x in try x[0].tril().triu(-1) }
    }
}
