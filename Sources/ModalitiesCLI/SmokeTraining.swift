import Torch

/// A tiny classifier trained with the engine's pieces that every real run uses: seeded initialisation,
/// linear layers, GELU, cross entropy, backward and the fused AdamW step.
struct SmokeTraining {
    var steps: Int
    var seed: UInt64
    var batchSize = 64
    var features = 16
    var hidden = 64
    var classes = 4

    /// Mean losses of the first and last ten steps (single batches are noisy).
    struct Report {
        var firstLoss: Double
        var lastLoss: Double
    }

    func run(onStep: (Int, Double) -> Void) throws -> Report {
        let generator = try Generator(seed: seed)
        // The task: which of `classes` fixed random centres a noisy point was drawn around.
        let centres = try Tensor.randn([classes, features], generator: generator)
        let w1 = try (Tensor.randn([hidden, features], generator: generator) * (1 / Double(features).squareRoot())).requiresGrad(true)
        let b1 = try Tensor.zeros([hidden]).requiresGrad(true)
        let w2 = try (Tensor.randn([classes, hidden], generator: generator) * (1 / Double(hidden).squareRoot())).requiresGrad(true)
        let b2 = try Tensor.zeros([classes]).requiresGrad(true)
        let parameters = [w1, b1, w2, b2]
        let expAvgs = try parameters.map { try $0.zerosLike() }
        let expAvgSqs = try parameters.map { try $0.zerosLike() }
        let stepCounts = try parameters.map { _ in try Tensor.zeros([]) }

        var losses: [Double] = []
        for step in 1...steps {
            let labels = try Tensor.randint(0, classes, [batchSize], generator: generator)
            let inputs = try centres.indexSelect(0, labels) + Tensor.randn([batchSize, features], generator: generator)
            let hiddenActivations = try Functional.linear(inputs, weight: w1, bias: b1).gelu()
            let logits = try Functional.linear(hiddenActivations, weight: w2, bias: b2)
            let loss = try Functional.crossEntropy(logits, target: labels)
            try loss.backward()
            let grads = parameters.compactMap(\.grad)
            try Foreach.fusedAdamW_(
                parameters: parameters, grads: grads, expAvgs: expAvgs, expAvgSqs: expAvgSqs,
                steps: stepCounts, lr: 1e-2, beta1: 0.9, beta2: 0.95, weightDecay: 0.01, eps: 1e-8)
            for parameter in parameters { try parameter.setGrad(nil) }
            losses.append(try loss.item(Double.self))
            onStep(step, losses[losses.count - 1])
        }
        let window = min(10, losses.count)
        func mean(_ values: ArraySlice<Double>) -> Double { values.reduce(0, +) / Double(values.count) }
        return Report(firstLoss: mean(losses.prefix(window)), lastLoss: mean(losses.suffix(window)))
    }
}
