import Testing

@testable import Torch

/// The fused cross entropy gives PyTorch's `cross_entropy` loss and gradient.
@Suite struct FusedCrossEntropyTests {
    func compare(rows: Int, vocabulary: Int, ignored: [Int] = [], scale: Double = 1) throws {
        let logits = try Tensor.randn([rows, vocabulary], generator: Generator(seed: 3)) * 3
        var labels = try Tensor.randint(0, vocabulary, [rows], generator: Generator(seed: 4)).toArray(Int.self)
        for row in ignored { labels[row] = -100 }
        let target = try Tensor(labels.map(Int64.init), shape: [rows])

        let reference = try logits.detach().requiresGrad(true)
        let expected = try Functional.crossEntropy(reference, target: target)
        try (expected * scale).backward()

        // Through a linear layer, as the LM head produces logits (the fused loss overwrites its input).
        let input = try logits.detach().requiresGrad(true)
        let produced = try input * 1
        let actual = try Functional.crossEntropyReusingLogits(produced, target: target)
        #expect(actual.gradFunctionName == "FusedCrossEntropyBackward")
        try (actual * scale).backward()

        #expect(Swift.abs(try actual.item(Double.self) - expected.item(Double.self)) <= 1e-5 * Swift.abs(try expected.item(Double.self)))
        let difference = try (input.grad! - reference.grad!).abs().max().item(Double.self)
        #expect(difference <= 1e-7, "largest gradient difference \(difference)")
    }

    @Test func lossAndGradientMatchCrossEntropy() throws {
        try compare(rows: 37, vocabulary: 1000)
        // Blocks of rows smaller than the row count, rows ignored, and a scaled loss (gradient accumulation).
        try compare(rows: 300, vocabulary: 8192, ignored: [0, 7, 299], scale: 0.5)
    }

    @Test func withoutGradItIsTheOrdinaryLoss() throws {
        let logits = try Tensor.randn([4, 10], generator: Generator(seed: 1))
        let target = try Tensor([Int64(1), 2, 3, 4], shape: [4])
        let loss = try Functional.crossEntropyReusingLogits(logits, target: target)
        #expect(try loss.item(Double.self) == Functional.crossEntropy(logits, target: target).item(Double.self))
        #expect(
            try logits.toArray(Float.self) == Tensor.randn([4, 10], generator: Generator(seed: 1)).toArray(Float.self), "logits untouched")
    }

    @Test func badTargetsAreRefused() throws {
        let logits = try Tensor.randn([2, 5]).requiresGrad(true) * 1
        #expect(throws: TorchError.self) {
            try Functional.crossEntropyReusingLogits(logits, target: try Tensor([Int64(1), 9], shape: [2]))
        }
    }
}
