import Testing

@testable import Torch

@Suite struct AutogradTests {
    @Test func backwardAccumulatesIntoLeaves() throws {
        let x = try Tensor([1, 2, 3] as [Double]).requiresGrad(true)
        #expect(x.requiresGrad && x.isLeaf && x.grad == nil)
        let y = try (x * x).sum()
        #expect(y.gradFunctionName == "SumBackward0")
        try y.backward(retainGraph: true)
        #expect(try x.grad?.toArray(Double.self) == [2, 4, 6])
        try y.backward()
        #expect(try x.grad?.toArray(Double.self) == [4, 8, 12])
        try x.setGrad(nil)
        #expect(x.grad == nil)
    }

    @Test func noGradScopeRecordsNothingAndRestoresTheMode() throws {
        let x = try Tensor([1.0]).requiresGrad(true)
        let y = try Autograd.noGrad { try x * 2 }
        #expect(!y.requiresGrad)
        #expect(Autograd.isGradEnabled)
        let z = try Autograd.noGrad { try Autograd.enableGrad { try x * 2 } }
        #expect(z.requiresGrad)
        struct Failure: Error {}
        #expect(throws: Failure.self) { try Autograd.noGrad { throw Failure() } }
        #expect(Autograd.isGradEnabled)
    }

    @Test func detachCutsTheGraph() throws {
        let x = try Tensor([3.0]).requiresGrad(true)
        let y = try (x * 2).detach()
        #expect(!y.requiresGrad)
    }

    @Test func gradReturnsGradientsWithoutAccumulating() throws {
        let x = try Tensor([2.0]).requiresGrad(true)
        let unused = try Tensor([1.0]).requiresGrad(true)
        let y = try x.pow(3)
        let grads = try Autograd.grad(outputs: [y], inputs: [x, unused], createGraph: true, allowUnused: true)
        #expect(try grads[0]?.item(Double.self) == 12)
        #expect(grads[1] == nil)
        #expect(x.grad == nil)
        // Second derivative through the recorded backward.
        let second = try Autograd.grad(outputs: [grads[0]!], inputs: [x])
        #expect(try second[0]?.item(Double.self) == 12)
    }

    @Test func customSwiftFunctionGradientMatchesFiniteDifferences() throws {
        // f(a, b) = a * sin(b), with a hand-written backward.
        func mulSin(_ inputs: [Tensor]) throws -> Tensor {
            let (a, b) = (inputs[0], inputs[1])
            return try CustomFunction.apply(
                name: "MulSinBackward", inputs: [a, b],
                forward: { x in
                    [try x[0] * x[1].sin()]
                },
                backward: { grads in
                    let grad = grads[0]!
                    return [try grad * b.detach().sin(), try grad * a.detach() * b.detach().cos()]
                })[0]
        }
        let a = try randomTensor([2, 3], seed: 40)
        let b = try randomTensor([2, 3], seed: 41)
        try expectGradientsMatchFiniteDifferences([a, b], mulSin)

        let leaf = try a.clone().requiresGrad(true)
        let output = try mulSin([leaf, b])
        #expect(output.gradFunctionName == "MulSinBackward")
    }

    @Test func customFunctionBackwardMayRecomputeWithAutograd() throws {
        // Activation checkpointing's shape: forward without a graph, backward recomputes with one.
        let weight = try randomTensor([3, 3], seed: 42).requiresGrad(true)
        let input = try randomTensor([2, 3], seed: 43).requiresGrad(true)
        func block(_ x: Tensor, _ w: Tensor) throws -> Tensor { try x.matmul(w).tanh() }
        let checkpointed = try CustomFunction.apply(
            inputs: [input, weight],
            forward: { x in
                [try block(x[0], x[1])]
            },
            backward: { grads in
                try Autograd.enableGrad {
                    let x = try input.detach().requiresGrad(true)
                    let w = try weight.detach().requiresGrad(true)
                    let recomputed = try block(x, w)
                    return try Autograd.grad(outputs: [recomputed], inputs: [x, w], gradOutputs: [grads[0]])
                }
            })[0]
        try checkpointed.sum().backward()
        let checkpointedGrads = try [input.grad!, weight.grad!].map { try $0.toArray(Double.self) }
        try input.setGrad(nil)
        try weight.setGrad(nil)
        try block(input, weight).sum().backward()
        expectClose(checkpointedGrads[0], try input.grad!.toArray(Double.self), tolerance: 1e-12)
        expectClose(checkpointedGrads[1], try weight.grad!.toArray(Double.self), tolerance: 1e-12)
    }

    @Test func customFunctionErrorsSurfaceFromBackward() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "deliberately broken" } }
        let x = try Tensor([1.0]).requiresGrad(true)
        let y = try CustomFunction.apply(inputs: [x], forward: { try [$0[0] * 2] }, backward: { _ in throw Broken() })[0]
        let error = #expect(throws: TorchError.self) { try y.backward() }
        #expect(error?.description.contains("deliberately broken") == true)

        let wrongCount = try CustomFunction.apply(inputs: [x], forward: { try [$0[0] * 2] }, backward: { _ in [] })[0]
        #expect(throws: TorchError.self) { try wrongCount.backward() }
    }

    @Test func gradientHooksSeeAndReplaceGradients() throws {
        let x = try Tensor([1, 2] as [Double]).requiresGrad(true)
        let seen = Box<[Double]>([])
        let handle = try x.registerHook { grad in
            seen.value = try grad.toArray(Double.self)
            return try grad * 10
        }
        try (x * 3).sum().backward()
        #expect(seen.value == [3, 3])
        #expect(try x.grad?.toArray(Double.self) == [30, 30])
        try x.removeHook(handle)
        try x.setGrad(nil)
        try (x * 3).sum().backward()
        #expect(try x.grad?.toArray(Double.self) == [3, 3])
    }

    @Test func postAccumulateGradHooksRunAfterGradIsSet() throws {
        let parameter = try Tensor([1, 2] as [Double]).requiresGrad(true)
        let observed = Box<[[Double]]>([])
        try parameter.registerPostAccumulateGradHook { tensor in
            observed.value.append(try tensor.grad!.toArray(Double.self))
        }
        try parameter.registerPostAccumulateGradHook { tensor in
            // An optimizer-in-backward: update the parameter and drop the gradient.
            _ = try Autograd.noGrad { try tensor.sub_(tensor.grad!, alpha: 0.5) }
            try tensor.setGrad(nil)
        }
        try (parameter * parameter).sum().backward()
        #expect(observed.value == [[2, 4]])
        #expect(try parameter.toArray(Double.self) == [0, 0])
        #expect(parameter.grad == nil)
    }

    @Test func autocastRunsMatmulInBFloat16AndRestores() throws {
        let a = try Tensor.randn([4, 4], generator: Generator(seed: 1))
        let product = try Autocast.scope(dtype: .bfloat16) {
            #expect(Autocast.isEnabled())
            return try a.matmul(a)
        }
        #expect(product.dtype == .bfloat16)
        #expect(!Autocast.isEnabled())
        #expect(try a.matmul(a).dtype == .float32)
        // Precision-sensitive operations stay in float32 under autocast.
        let loss = try Autocast.scope { try Functional.mseLoss(a.matmul(a), target: a) }
        #expect(loss.dtype == .float32)
        // Without the cast cache (as CUDA-graph capture needs) the results are the same.
        let weight = try Tensor.randn([3, 4], generator: Generator(seed: 2)).requiresGrad(true)
        let cached = try Autocast.scope { try Functional.linear(a, weight: weight) }
        let uncached = try Autocast.withoutCache { try Autocast.scope { try Functional.linear(a, weight: weight) } }
        #expect(try uncached.equal(cached) && uncached.dtype == .bfloat16)
    }
}

/// A mutable reference for closures that hooks call.
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
