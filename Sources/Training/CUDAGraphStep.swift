import Distributed
import Models
import Parallelism
import Torch

/// `model/compiled`'s training step on a GPU: after `warmupSteps` eager steps, one whole optimizer step (forward,
/// loss, backward, gradient clipping, AdamW) is captured as a CUDA graph and every later step replays it, as
/// `torch.compile(mode="reduce-overhead")` and PyTorch's whole-network capture do.
///
/// The graph reads the batch from tensors it owns (each batch is copied into them), the learning rate from the
/// optimizer's device tensor (``AdamOptimizer/learningRateTensor``) and writes the gradients into the tensors its
/// capture allocated, so gradients are never cleared between replays: each replay's backward writes them afresh.
/// A batch of another shape, or a changed beta1 (momentum cycling), runs that step eagerly on the same tensors.
final class CUDAGraphStep {
    /// The step's work on a batch: forward, loss, backward, clipping and optimizer step; returns the loss and, when
    /// the clipper computes it, the gradient norm (both on the device).
    typealias Body = (_ samples: [String: Tensor], _ targets: [String: Tensor]) throws -> (loss: Tensor, gradientNorm: Tensor?)

    /// How a step ran (the `debug` log).
    enum Mode: String { case eager, captured, replayed, eagerFallback = "eager (the graph does not fit this step)" }

    let device: Device
    let optimizer: AdamOptimizer
    let warmupSteps: Int
    private var stepsRun = 0
    private var graph: CUDAGraph?
    private var samples: [String: Tensor] = [:]
    private var targets: [String: Tensor] = [:]
    private var outputs: (loss: Tensor, gradientNorm: Tensor?)?
    private var capturedBeta1 = 0.0

    init(device: Device, optimizer: AdamOptimizer, warmupSteps: Int = 2) throws {
        self.device = device
        self.optimizer = optimizer
        self.warmupSteps = warmupSteps
        try optimizer.keepLearningRateOnDevice()
    }

    /// Why a run cannot capture its steps, or nil when it can: the capture holds the work of one rank's single
    /// micro batch with every host-side decision frozen.
    static func obstacle(
        device: Device, optimizer: any Optimizer, gradientAccumulationSteps: Int, group: ProcessGroup?, model: any Model,
        pipelined: Bool, phaseTimed: Bool
    ) -> String? {
        if device.kind != .cuda { return "CUDA graphs need a GPU; on \(device) the step runs eagerly on the shim's fused kernels" }
        if gradientAccumulationSteps != 1 { return "gradient_accumulation_steps is \(gradientAccumulationSteps) (the graph holds one micro batch per step)" }
        if pipelined { return "pipeline schedules send between stages from the host" }
        if let group, group.size > 1 { return "\(group.size) ranks: the data-parallel collectives wait on the host" }
        if model.unwrapped(as: FullyShardedModel.self) != nil || model.unwrapped(as: DataParallelModel.self) != nil {
            return "the model is sharded or replicated over ranks"
        }
        if let shard = model.unwrapped(as: GPT2LLM.self)?.tensorParallel, shard.size > 1 {
            return "tensor parallelism's collectives wait on the host"
        }
        if !(optimizer is AdamOptimizer) { return "the optimizer is not Adam/AdamW (whose fused step reads its learning rate on the GPU)" }
        if phaseTimed { return "the step's phases are timed (each mark synchronises the GPU)" }
        return nil
    }

    /// Runs one optimizer step on a batch: eagerly for the warm-up, then captured once and replayed.
    func run(samples batchSamples: [String: Tensor], targets batchTargets: [String: Tensor], body: Body) throws
        -> (loss: Tensor, gradientNorm: Tensor?, mode: Mode)
    {
        defer { stepsRun += 1 }
        try optimizer.writeLearningRate()
        if let graph, let outputs {
            guard fits(batchSamples, samples), fits(batchTargets, targets), optimizer.beta1 == capturedBeta1 else {
                // The captured gradients hold the last replay's values; eager backward adds into them.
                for parameter in optimizer.groups.flatMap(\.parameters) { try parameter.grad?.zero_() }
                let result = try body(batchSamples, batchTargets)
                return (result.loss, result.gradientNorm, .eagerFallback)
            }
            try copy(batchSamples, into: samples)
            try copy(batchTargets, into: targets)
            try graph.replay()
            return (try outputs.loss.clone(), try outputs.gradientNorm?.clone(), .replayed)
        }
        guard stepsRun >= warmupSteps else {
            let result = try body(batchSamples, batchTargets)
            try optimizer.zeroGrad()
            return (result.loss, result.gradientNorm, .eager)
        }
        // Gradients start as none so that the capture's backward allocates them from the graph's pool.
        try optimizer.zeroGrad()
        samples = try batchSamples.mapValues { try $0.clone() }
        targets = try batchTargets.mapValues { try $0.clone() }
        let graph = try CUDAGraph()
        var captured: (loss: Tensor, gradientNorm: Tensor?)?
        try graph.capture(on: device) {
            captured = try Autocast.withoutCache { try body(samples, targets) }
        }
        capturedBeta1 = optimizer.beta1
        self.graph = graph
        outputs = captured
        // Capturing records the work without running it: this step runs as the first replay.
        try graph.replay()
        return (try captured!.loss.clone(), try captured!.gradientNorm?.clone(), .captured)
    }

    private func fits(_ batch: [String: Tensor], _ owned: [String: Tensor]) -> Bool {
        batch.count == owned.count
            && batch.allSatisfy { key, tensor in owned[key].map { $0.shape == tensor.shape && $0.dtype == tensor.dtype } ?? false }
    }

    private func copy(_ batch: [String: Tensor], into owned: [String: Tensor]) throws {
        for (key, tensor) in batch { _ = try owned[key]!.copy_(tensor) }
    }
}
