import Testing

@testable import Torch

/// Central finite differences of `function`'s weighted sum with respect to every element of `inputs`,
/// compared with the gradient that backward computes. All arithmetic is float64.
func expectGradientsMatchFiniteDifferences(
    _ inputs: [Tensor],
    epsilon: Double = 1e-6,
    tolerance: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ function: ([Tensor]) throws -> Tensor
) throws {
    let leaves = try inputs.map { try $0.to(dtype: .float64).detach().clone().requiresGrad(true) }
    let output = try function(leaves)
    // A fixed random weighting makes every output element matter without a special case for shapes.
    let weights = try Tensor.randn(output.shape, dtype: .float64, generator: Generator(seed: 7))
    try (output * weights).sum().backward()

    for (inputIndex, leaf) in leaves.enumerated() {
        let analytic = try #require(leaf.grad, "input \(inputIndex) got no gradient", sourceLocation: sourceLocation)
        let analyticValues = try analytic.toArray(Double.self)
        var values = try leaf.detach().toArray(Double.self)
        for element in values.indices {
            let original = values[element]
            func weightedOutput(at value: Double) throws -> Double {
                values[element] = value
                let perturbed = try Tensor(values, shape: leaf.shape)
                var arguments = try leaves.map { try $0.detach() }
                arguments[inputIndex] = perturbed
                return try Autograd.noGrad { try (function(arguments) * weights).sum().item(Double.self) }
            }
            let numeric = (try weightedOutput(at: original + epsilon) - weightedOutput(at: original - epsilon)) / (2 * epsilon)
            values[element] = original
            let difference = Swift.abs(numeric - analyticValues[element])
            #expect(
                difference <= tolerance * Swift.max(1, Swift.abs(numeric)),
                "input \(inputIndex) element \(element): finite difference \(numeric), backward \(analyticValues[element])",
                sourceLocation: sourceLocation)
        }
    }
}

/// Whether two float arrays agree elementwise within `tolerance`.
func expectClose(
    _ actual: [Double], _ expected: [Double], tolerance: Double = 1e-9,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        #expect(
            Swift.abs(a - e) <= tolerance * Swift.max(1, Swift.abs(e)), "element \(index): \(a) vs \(e)",
            sourceLocation: sourceLocation)
    }
}

/// A float64 tensor of standard normal values from a fixed seed.
func randomTensor(_ shape: [Int], seed: UInt64 = 1) throws -> Tensor {
    try Tensor.randn(shape, dtype: .float64, generator: Generator(seed: seed))
}
