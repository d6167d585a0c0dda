import Models
import Torch

/// Adam and AdamW over a model's parameters with Modalities' weight-decay groups, stepping with libtorch's
/// fused kernels (`optimizer/adam`, `optimizer/adam_w`).
public final class AdamOptimizer {
    /// Parameters sharing a weight decay.
    public struct Group {
        public var name: String
        /// State-dict names of `parameters`, in the same order.
        public var parameterNames: [String]
        public var parameters: [Tensor]
        public var weightDecay: Double
    }

    /// Adam's per-parameter state: first and second moment estimates and the step count (a float32 scalar, as
    /// the fused kernels keep it).
    public struct ParameterState {
        public var expAvg: Tensor
        public var expAvgSq: Tensor
        public var step: Tensor

        public init(expAvg: Tensor, expAvgSq: Tensor, step: Tensor) {
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
            self.step = step
        }
    }

    /// The model whose parameters are updated.
    public let model: any Model

    public let decoupledWeightDecay: Bool
    /// The first moment's coefficient of the next step; schedulers that cycle momentum (`onecycle_lr` with
    /// `cycle_momentum`) set it before each step, as PyTorch's write `betas[0]`.
    public var beta1: Double
    public let beta2: Double
    public let eps: Double
    /// The learning rate configured; schedulers scale from it.
    public let baseLearningRate: Double
    /// The learning rate of the next step.
    public var learningRate: Double
    /// Once ``keepLearningRateOnDevice()`` has made it: the learning rate as a zero-dimensional float32 tensor on the
    /// parameters' device, which every step reads (the fused kernels' `tensor_lr` form), so that a CUDA graph that
    /// captured ``step()`` follows the schedule; ``writeLearningRate()`` copies ``learningRate`` into it.
    public private(set) var learningRateTensor: Tensor?
    public let groups: [Group]
    private var moments: [[Tensor]] = []
    private var squares: [[Tensor]] = []
    private var steps: [[Tensor]] = []

    /// Splits `model`'s parameters into a group with weight decay and one without (the excluded groups).
    public init(
        model: any Model, learningRate: Double, betas: (Double, Double), eps: Double, weightDecay: Double,
        excludedGroups: [String], decoupledWeightDecay: Bool
    ) throws {
        for group in excludedGroups where model.weightDecayGroups[group] == nil {
            throw TrainingError.invalidConfig(
                "weight_decay_groups_excluded names '\(group)', not one of the model's groups (\(model.weightDecayGroups.keys.sorted().joined(separator: ", ")))"
            )
        }
        let named = model.parameters.named
        if weightDecay == 0 || excludedGroups.isEmpty {
            groups = [Group(name: "all", parameterNames: named.map(\.name), parameters: named.map(\.tensor), weightDecay: weightDecay)]
        } else {
            let patterns = excludedGroups.flatMap { model.weightDecayGroups[$0] ?? [] }
            let excluded = named.filter { entry in patterns.contains { entry.name.contains($0) } }
            let decayed = named.filter { entry in !patterns.contains { entry.name.contains($0) } }
            groups = [
                Group(
                    name: "with_weight_decay", parameterNames: decayed.map(\.name), parameters: decayed.map(\.tensor),
                    weightDecay: weightDecay),
                Group(
                    name: "without_weight_decay", parameterNames: excluded.map(\.name), parameters: excluded.map(\.tensor), weightDecay: 0),
            ]
        }
        self.model = model
        self.decoupledWeightDecay = decoupledWeightDecay
        (beta1, beta2) = betas
        self.eps = eps
        baseLearningRate = learningRate
        self.learningRate = learningRate
        moments = try groups.map { try $0.parameters.map { try $0.detach().zerosLike() } }
        squares = try groups.map { try $0.parameters.map { try $0.detach().zerosLike() } }
        steps = try groups.map { try $0.parameters.map { try Tensor.zeros([], device: $0.device) } }
    }

    /// Makes every later step read the learning rate from ``learningRateTensor`` (see there).
    public func keepLearningRateOnDevice() throws {
        guard learningRateTensor == nil else { return }
        let device = groups.lazy.flatMap(\.parameters).first?.device ?? .cpu
        learningRateTensor = try Tensor.zeros([], device: device)
        try writeLearningRate()
    }

    /// Writes ``learningRate`` into ``learningRateTensor`` (outside a capture, before the step that reads it).
    public func writeLearningRate() throws {
        try learningRateTensor?.fill_(learningRate)
    }

    /// Updates every parameter that has a gradient.
    public func step() throws {
        for (index, group) in groups.enumerated() {
            let present = group.parameters.indices.filter { group.parameters[$0].grad != nil }
            guard !present.isEmpty else { continue }
            let parameters = present.map { group.parameters[$0] }
            let grads = present.map { group.parameters[$0].grad! }
            let m = present.map { moments[index][$0] }
            let v = present.map { squares[index][$0] }
            let s = present.map { steps[index][$0] }
            try Autograd.noGrad {
                if let learningRateTensor {
                    try Foreach.fusedAdamW_(
                        parameters: parameters, grads: grads, expAvgs: m, expAvgSqs: v, steps: s, lr: learningRateTensor,
                        beta1: beta1, beta2: beta2, weightDecay: group.weightDecay, eps: eps,
                        decoupledWeightDecay: decoupledWeightDecay)
                } else if decoupledWeightDecay {
                    try Foreach.fusedAdamW_(
                        parameters: parameters, grads: grads, expAvgs: m, expAvgSqs: v, steps: s, lr: learningRate,
                        beta1: beta1, beta2: beta2, weightDecay: group.weightDecay, eps: eps)
                } else {
                    try Foreach.fusedAdam_(
                        parameters: parameters, grads: grads, expAvgs: m, expAvgSqs: v, steps: s, lr: learningRate,
                        beta1: beta1, beta2: beta2, weightDecay: group.weightDecay, eps: eps)
                }
            }
        }
    }

    /// Every updated parameter's name, group by group.
    public var parameterNames: [String] { groups.flatMap(\.parameterNames) }

    /// The state of every parameter by name; the tensors are the optimizer's own (loading copies into them).
    public var state: [(name: String, state: ParameterState)] {
        groups.indices.flatMap { group in
            groups[group].parameterNames.indices.map { index in
                (
                    groups[group].parameterNames[index],
                    ParameterState(expAvg: moments[group][index], expAvgSq: squares[group][index], step: steps[group][index])
                )
            }
        }
    }

    /// Copies saved state into the optimizer's, checking names and shapes.
    public func loadState(_ saved: [String: ParameterState]) throws {
        for (name, current) in state {
            guard let values = saved[name] else { throw TrainingError.invalidCheckpoint("no optimizer state for parameter \(name)") }
            for (label, destination, source) in [
                ("exp_avg", current.expAvg, values.expAvg), ("exp_avg_sq", current.expAvgSq, values.expAvgSq),
                ("step", current.step, values.step),
            ] {
                guard destination.shape == source.shape else {
                    throw TrainingError.invalidCheckpoint(
                        "optimizer state \(name).\(label) has shape \(source.shape), the model needs \(destination.shape)")
                }
                try Autograd.noGrad { _ = try destination.copy_(source) }
            }
        }
    }

    /// Clears every gradient.
    public func zeroGrad() throws {
        for group in groups { for parameter in group.parameters { try parameter.setGrad(nil) } }
    }
}
