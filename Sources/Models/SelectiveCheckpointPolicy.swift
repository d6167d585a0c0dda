import Torch

/// Which operators' outputs selective activation checkpointing keeps: Modalities' `save_ops_keys` (torchtitan's
/// list). Everything else a checkpointed block computes is recomputed in backward.
///
/// As in Modalities' (and torchtitan's) policy, every second matrix product of a block is recomputed even when
/// `ops.aten.mm.default` is listed: the first, third, … are kept.
public struct SelectiveCheckpointPolicy: Sendable, Equatable {
    /// The operators Modalities' `ActivationCheckpointing.SAVE_DICT` names, by their keys.
    public enum Operator: String, CaseIterable, Sendable {
        /// `aten::mm`: what libtorch's `linear` runs for a layer without bias (one with a bias runs `addmm`, which
        /// PyTorch's policy does not list either).
        case mm = "ops.aten.mm.default"
        case efficientAttention = "ops.aten._scaled_dot_product_efficient_attention.default"
        case flashAttention = "ops.aten._scaled_dot_product_flash_attention.default"
        case reduceScatter = "ops._c10d_functional.reduce_scatter_tensor.default"
        case max = "ops.aten.max.default"
    }

    public let savedOperators: Set<Operator>

    /// A policy from Modalities' keys; throws naming an unknown key or an empty list.
    public init(keys: [String]) throws {
        guard !keys.isEmpty else {
            throw ModelError.invalidConfig(
                "save_ops_keys is empty: selective op activation checkpointing needs at least one operator to keep")
        }
        savedOperators = try Set(
            keys.map { key in
                guard let op = Operator(rawValue: key) else {
                    throw ModelError.invalidConfig(
                        "save_ops_keys has '\(key)'; the keys Modalities knows are \(Operator.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                return op
            })
    }

    /// Listed operators that GPT2LLM's blocks never run on `device`, so that listing them keeps nothing: the
    /// attention kernels are CUDA's (on the CPU, libtorch runs `_scaled_dot_product_flash_attention_for_cpu`, which
    /// PyTorch's policy does not match either), the reduce-scatter belongs to tensor parallelism and the blocks
    /// take no `max`.
    public func operatorsNeverRun(on device: Device) -> [Operator] {
        Operator.allCases.filter { savedOperators.contains($0) && $0 != .mm && !(device.kind == .cuda && $0.isAttention) }
    }
}

extension SelectiveCheckpointPolicy.Operator {
    /// One of CUDA's scaled-dot-product attention kernels.
    public var isAttention: Bool { self == .efficientAttention || self == .flashAttention }
}

/// The outputs a checkpointed block keeps under a ``SelectiveCheckpointPolicy``: recorded during its forward,
/// handed back in the same order during backward's recomputation instead of being computed again.
///
/// One instance serves one call of one block; the counts of matrix products (for the every-second rule) run
/// separately in the two passes, as Modalities' policy counts them.
final class OperatorOutputCache {
    enum Phase { case recording, replaying }

    let policy: SelectiveCheckpointPolicy
    private(set) var phase = Phase.recording
    private var matrixProducts = 0
    private var kept: [Tensor] = []

    init(policy: SelectiveCheckpointPolicy) { self.policy = policy }

    /// Switches from the forward to backward's recomputation.
    func startReplay() {
        phase = .replaying
        matrixProducts = 0
    }

    /// `input @ weight.T` (no bias: `aten::mm` after libtorch folds the leading dimensions), kept or recomputed.
    func linear(_ input: Tensor, weight: Tensor) throws -> Tensor {
        matrixProducts += 1
        guard policy.savedOperators.contains(.mm), matrixProducts % 2 == 1 else {
            return try Functional.linear(input, weight: weight)
        }
        switch phase {
        case .recording:
            let output = try Functional.linear(input, weight: weight)
            kept.append(output)
            return output
        case .replaying:
            guard !kept.isEmpty else {
                throw ModelError.invalidConfig("selective checkpointing: the recomputation ran more matrix products than the forward")
            }
            return try Self.keptLinear(kept.removeFirst(), input: input, weight: weight)
        }
    }

    /// The kept `output` of `input @ weight.T`, attached to autograd with mm's derivative, so backward sees the
    /// operator without it running again.
    private static func keptLinear(_ output: Tensor, input: Tensor, weight: Tensor) throws -> Tensor {
        let (x, w) = (try input.detach(), try weight.detach())
        let features = x.size(-1)
        let outputs = try CustomFunction.apply(
            name: "KeptMmBackward", inputs: [input, weight], forward: { _ in [output] },
            backward: { grads in
                guard let grad = grads[0] else { return [nil, nil] }
                // As MmBackward0 computes them for mm(x2d, weight.T): grad @ weight, and (x2dᵀ @ grad)ᵀ.
                let grad2d = try grad.reshape([-1, grad.size(-1)])
                let x2d = try x.reshape([-1, features])
                let gradInput = try grad2d.mm(w).reshape(x.shape)
                let gradWeight = try x2d.transpose(0, 1).mm(grad2d).transpose(0, 1)
                return [gradInput, gradWeight]
            })
        return outputs[0]
    }
}
