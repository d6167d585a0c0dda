import Distributed
import Models
import Torch

/// A tensor-parallel group over a c10d process group (Gloo on CPU ranks, NCCL on GPUs): GPT2LLM's split layers
/// sum their partial products through it.
public final class ProcessGroupCommunicator: TensorParallelCommunicator {
    public let group: ProcessGroup

    public init(group: ProcessGroup) {
        self.group = group
    }

    public var size: Int { group.size }
    public var rank: Int { group.rank }

    public func allReduceSum(_ tensor: Tensor) throws -> Tensor {
        // The collective works in place; the caller's tensor (an autograd input) is left as it was.
        let sum = try tensor.contiguous().clone()
        try group.allReduce(sum, .sum)
        return sum
    }
}
