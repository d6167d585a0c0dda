import Testing

@testable import Torch

@Suite struct ForeachTests {
    @Test func foreachOperationsUpdateEveryTensor() throws {
        let tensors = try [Tensor.ones([2], dtype: .float64), Tensor.ones([3], dtype: .float64)]
        try Foreach.add_(tensors, 1)
        try Foreach.mul_(tensors, 3)
        #expect(try tensors.map { try $0.toArray(Double.self) } == [[6, 6], [6, 6, 6]])
        try Foreach.add_(tensors, tensors, alpha: -0.5)
        #expect(try tensors[1].toArray(Double.self) == [3, 3, 3])
        try Foreach.mul_(tensors, Tensor(scalar: 2.0))
        let norms = try Foreach.norm(tensors).map { try $0.item(Double.self) }
        expectClose(norms, [(2 * 36.0).squareRoot(), (3 * 36.0).squareRoot()])
        try Foreach.lerp_(tensors, [Tensor.zeros([2], dtype: .float64), Tensor.zeros([3], dtype: .float64)], weight: 0.5)
        #expect(try tensors[0].toArray(Double.self) == [3, 3])
        try Foreach.copy_(tensors, [Tensor.full([2], 7, dtype: .float64), Tensor.full([3], 8, dtype: .float64)])
        #expect(try Foreach.sqrt(tensors)[1].toArray(Double.self) == [Double](repeating: Double(8).squareRoot(), count: 3))
        try Foreach.zero_(tensors)
        #expect(try tensors[1].sum().item(Double.self) == 0)
    }

    @Test func fusedAdamWMatchesTheAlgorithm() throws {
        let (lr, beta1, beta2, eps, decay) = (0.01, 0.9, 0.95, 1e-8, 0.1)
        let start: [Double] = [0.5, -1.0, 2.0]
        let gradients: [[Double]] = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.2, 0.2]]
        let parameter = try Tensor(start)
        let expAvg = try parameter.zerosLike()
        let expAvgSq = try parameter.zerosLike()
        let step = try Tensor.zeros([], dtype: .float32)

        var expected = start
        var m = [Double](repeating: 0, count: 3)
        var v = [Double](repeating: 0, count: 3)
        for (index, gradient) in gradients.enumerated() {
            try Foreach.fusedAdamW_(
                parameters: [parameter], grads: [Tensor(gradient)], expAvgs: [expAvg],
                expAvgSqs: [expAvgSq], steps: [step], lr: lr, beta1: beta1, beta2: beta2,
                weightDecay: decay, eps: eps)
            let t = Double(index + 1)
            for i in 0..<3 {
                expected[i] *= 1 - lr * decay
                m[i] = beta1 * m[i] + (1 - beta1) * gradient[i]
                v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i]
                let mHat = m[i] / (1 - power(beta1, t))
                let vHat = v[i] / (1 - power(beta2, t))
                expected[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
        expectClose(try parameter.toArray(Double.self), expected, tolerance: 1e-10)
        #expect(try step.item(Float.self) == 3)
        #expect(throws: TorchError.self) {
            try Foreach.fusedAdamW_(
                parameters: [parameter], grads: [], expAvgs: [expAvg], expAvgSqs: [expAvgSq],
                steps: [step], lr: lr, beta1: beta1, beta2: beta2, weightDecay: decay, eps: eps)
        }
    }
}

private func power(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    for _ in 0..<Int(exponent) { result *= base }
    return result
}
