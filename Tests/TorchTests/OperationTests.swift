import Testing

@testable import Torch

/// Forward values of views, arithmetic and reductions on small known inputs.
@Suite struct OperationTests {
    let matrix: Tensor = try! Tensor(Array(0..<6).map(Double.init), shape: [2, 3])

    @Test func viewsRearrangeValues() throws {
        #expect(try matrix.transpose(0, 1).contiguous().toArray(Double.self) == [0, 3, 1, 4, 2, 5])
        #expect(try matrix.transpose(0, 1).isContiguous == false)
        #expect(try matrix.view([3, 2]).shape == [3, 2])
        #expect(try matrix.reshape([-1]).shape == [6])
        #expect(try matrix.permute([1, 0]).shape == [3, 2])
        #expect(try matrix.narrow(1, start: 1, length: 2).toArray(Double.self) == [1, 2, 4, 5])
        #expect(try matrix.slice(1, start: 0, end: 3, step: 2).toArray(Double.self) == [0, 2, 3, 5])
        #expect(try matrix.select(0, 1).toArray(Double.self) == [3, 4, 5])
        #expect(try matrix.indexSelect(1, Tensor([2, 0])).toArray(Double.self) == [2, 0, 5, 3])
        #expect(try matrix.gather(1, Tensor([0, 0, 2, 1], shape: [2, 2])).toArray(Double.self) == [0, 0, 5, 4])
        #expect(try matrix.index([Tensor([1, 0])]).toArray(Double.self) == [3, 4, 5, 0, 1, 2])
        #expect(try matrix.unsqueeze(0).shape == [1, 2, 3])
        #expect(try matrix.unsqueeze(0).squeeze(0).shape == [2, 3])
        #expect(try matrix.flatten().shape == [6])
        #expect(try matrix.expand([4, 2, 3]).shape == [4, 2, 3])
        #expect(try Tensor.ones([3, 3]).tril().sum().item(Double.self) == 6)
    }

    @Test func joinsAndSplits() throws {
        #expect(try Tensor.cat([matrix, matrix], dim: 0).shape == [4, 3])
        #expect(try Tensor.stack([matrix, matrix], dim: 1).shape == [2, 2, 3])
        let pieces = try matrix.split(2, dim: 1)
        #expect(pieces.map(\.shape) == [[2, 2], [2, 1]])
        let chunks = try Tensor.arange(10).chunk(3)
        #expect(chunks.map(\.count) == [4, 4, 2])
        #expect(try chunks[2].toArray(Int.self) == [8, 9])
    }

    @Test func broadcastingArithmetic() throws {
        let row = try Tensor([10, 20, 30] as [Double])
        #expect(try (matrix + row).toArray(Double.self) == [10, 21, 32, 13, 24, 35])
        #expect(try (matrix * 2).toArray(Double.self) == [0, 2, 4, 6, 8, 10])
        #expect(try (1 - matrix).toArray(Double.self) == [1, 0, -1, -2, -3, -4])
        #expect(try (matrix / row).toArray(Double.self)[5] == 5.0 / 30.0)
        #expect(try matrix.add(row, alpha: 0.5).toArray(Double.self)[0] == 5)
        #expect(try matrix.clamp(min: 1, max: 4).toArray(Double.self) == [1, 1, 2, 3, 4, 4])
    }

    @Test func comparisonsGiveBooleans() throws {
        #expect(try matrix.gt(2).toArray(Bool.self) == [false, false, false, true, true, true])
        #expect(try matrix.eq(matrix).all().item(Bool.self))
        #expect(try matrix.equal(matrix.clone()))
        #expect(try matrix.allclose(matrix + 1e-12))
        #expect(try !matrix.allclose(matrix + 1e-3))
    }

    @Test func reductionsAndProducts() throws {
        #expect(try matrix.sum().item(Double.self) == 15)
        #expect(try matrix.sum(dims: [1]).toArray(Double.self) == [3, 12])
        #expect(try matrix.mean(dims: [0]).toArray(Double.self) == [1.5, 2.5, 3.5])
        #expect(try matrix.max().item(Double.self) == 5)
        #expect(try matrix.argmax(dim: 1).toArray(Int.self) == [2, 2])
        #expect(try matrix.max(dim: 0).indices.toArray(Int.self) == [1, 1, 1])
        #expect(Swift.abs(try matrix.norm().item(Double.self) - Double(55).squareRoot()) < 1e-12)
        #expect(try matrix.variance(dims: [1]).toArray(Double.self) == [1, 1])
        #expect(try matrix.matmul(matrix.transpose(0, 1)).toArray(Double.self) == [5, 14, 14, 50])
    }

    @Test func inPlaceUpdatesChangeTheTensor() throws {
        let tensor = try Tensor.zeros([3], dtype: .float64)
        try tensor.add_(1).mul_(3).sub_(Tensor([1, 1, 1] as [Double]))
        #expect(try tensor.toArray(Double.self) == [2, 2, 2])
        try tensor.addcmul_(Tensor([1, 2, 3] as [Double]), Tensor([1, 1, 1] as [Double]), value: 2)
        #expect(try tensor.toArray(Double.self) == [4, 6, 8])
        try tensor.copy_(Tensor([9, 9, 9] as [Float]))
        #expect(try tensor.toArray(Double.self) == [9, 9, 9])
        try tensor.zero_()
        #expect(try tensor.sum().item(Double.self) == 0)
    }

    @Test func crossEntropyWithIgnoreIndexMatchesTheFormula() throws {
        let logits = try randomTensor([5, 4], seed: 30)
        let targets = [2, -100, 0, 3, -100]
        let target = try Tensor(targets)
        let logProbabilities = try logits.logSoftmax(dim: 1).toArray(Double.self)
        var total = 0.0
        var counted = 0
        for (row, label) in targets.enumerated() where label != -100 {
            total -= logProbabilities[row * 4 + label]
            counted += 1
        }
        let mean = try Functional.crossEntropy(logits, target: target).item(Double.self)
        #expect(Swift.abs(mean - total / Double(counted)) < 1e-12)
        let sum = try Functional.crossEntropy(logits, target: target, reduction: .sum).item(Double.self)
        #expect(Swift.abs(sum - total) < 1e-12)
        let perRow = try Functional.crossEntropy(logits, target: target, reduction: .none).toArray(Double.self)
        #expect(perRow[1] == 0 && perRow[4] == 0)
        #expect(Swift.abs(perRow[0] + logProbabilities[2]) < 1e-12)
    }

    @Test func attentionMatchesExplicitSoftmaxAttention() throws {
        // batch 2, 4 query heads sharing 2 key/value heads, sequence 5, head size 3.
        let query = try randomTensor([2, 4, 5, 3], seed: 31)
        let key = try randomTensor([2, 2, 5, 3], seed: 32)
        let value = try randomTensor([2, 2, 5, 3], seed: 33)
        let fused = try Functional.scaledDotProductAttention(
            query: query, key: key, value: value, isCausal: true,
            enableGQA: true)
        // Each key head serves two consecutive query heads.
        let expandedKey = try key.unsqueeze(2).expand([2, 2, 2, 5, 3]).reshape([2, 4, 5, 3])
        let expandedValue = try value.unsqueeze(2).expand([2, 2, 2, 5, 3]).reshape([2, 4, 5, 3])
        let scores = try query.matmul(expandedKey.transpose(-2, -1)) / 3.0.squareRoot()
        let future = try Tensor.ones([5, 5], dtype: .bool).triu(1)
        let weights = try scores.maskedFill(future, -Double.infinity).softmax(dim: -1)
        let explicit = try weights.matmul(expandedValue)
        expectClose(try fused.toArray(Double.self), try explicit.toArray(Double.self), tolerance: 1e-12)

        let nonCausal = try Functional.scaledDotProductAttention(query: query, key: expandedKey, value: expandedValue, scale: 0.5)
        let explicitNonCausal = try (query.matmul(expandedKey.transpose(-2, -1)) * 0.5).softmax(dim: -1).matmul(expandedValue)
        expectClose(try nonCausal.toArray(Double.self), try explicitNonCausal.toArray(Double.self), tolerance: 1e-12)
    }

    @Test func dropoutZeroesAndRescales() throws {
        try Runtime.manualSeed(5)
        let output = try Functional.dropout(Tensor.ones([10_000], dtype: .float64), p: 0.25).toArray(Double.self)
        let kept = output.filter { $0 != 0 }
        #expect(kept.allSatisfy { Swift.abs($0 - 1 / 0.75) < 1e-12 })
        #expect(Swift.abs(Double(kept.count) / 10_000 - 0.75) < 0.02)
        #expect(try Functional.dropout(Tensor.ones([4]), p: 0.9, training: false).toArray(Float.self) == [1, 1, 1, 1])
    }
}
