import Models
import Testing
import Torch

@testable import Training

/// When `model/compiled` can capture the training step, and the reason the log gives when it cannot.
@Suite struct CUDAGraphStepTests {
    @Test func eachObstacleIsNamed() throws {
        let model = try OptimizerTests().model()
        let adam = try AdamOptimizer(
            model: model, learningRate: 1e-3, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0, excludedGroups: [], decoupledWeightDecay: true)
        func obstacle(device: Device = .cuda(0), accumulation: Int = 1, pipelined: Bool = false, timed: Bool = false) -> String? {
            CUDAGraphStep.obstacle(
                device: device, optimizer: adam, gradientAccumulationSteps: accumulation, group: nil, model: model, pipelined: pipelined,
                phaseTimed: timed)
        }
        #expect(obstacle() == nil)
        #expect(obstacle(device: .cpu) == "CUDA graphs need a GPU; on cpu the step runs eagerly on the shim's fused kernels")
        #expect(obstacle(accumulation: 4) == "gradient_accumulation_steps is 4 (the graph holds one micro batch per step)")
        #expect(obstacle(pipelined: true) == "pipeline schedules send between stages from the host")
        #expect(obstacle(timed: true) == "the step's phases are timed (each mark synchronises the GPU)")
    }
}

extension CUDAGraphStepTests {
    @Test func warmUpStepsRunEagerlyAndClearTheGradients() throws {
        let model = try OptimizerTests().model()
        let adam = try AdamOptimizer(
            model: model, learningRate: 0x1p-8, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0, excludedGroups: [], decoupledWeightDecay: true)
        let step = try CUDAGraphStep(device: .cpu, optimizer: adam, warmupSteps: 2)
        // The optimizer now reads its rate from the tensor the step keeps current.
        #expect(try adam.learningRateTensor?.item(Float.self) == 0x1p-8)
        let tokens = try Tensor.randint(0, 32, [2, 9], generator: Generator(seed: 4))
        let samples = ["input_ids": try tokens.narrow(1, start: 0, length: 8).contiguous()]
        let targets = ["target_ids": try tokens.narrow(1, start: 1, length: 8).contiguous()]
        var losses: [Double] = []
        for _ in 0..<2 {
            let result = try step.run(samples: samples, targets: targets) { samples, targets in
                let logits = try model(samples["input_ids"]!, training: true)
                let value = try Functional.crossEntropy(logits.reshape([-1, 32]), target: targets["target_ids"]!.reshape([-1]))
                try value.backward()
                try adam.step()
                return (value, nil)
            }
            #expect(result.mode == .eager)
            #expect(model.parameters.named.allSatisfy { $0.tensor.grad == nil })
            losses.append(try result.loss.item(Double.self))
        }
        // The second step trained on what the first learned from the same batch.
        #expect(losses[1] < losses[0])
    }
}
