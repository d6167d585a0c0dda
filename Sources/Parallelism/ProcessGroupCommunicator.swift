import Distributed
import Models
import Torch

/// A tensor-parallel group over a c10d process group (Gloo on CPU ranks, NCCL on GPUs): GPT2LLM's split layers
/// sum their partial products and gather their vocabulary slices through it.
public final class ProcessGroupCommunicator: TensorParallelCommunicator {
    public let group: ProcessGroup

    public init(group: ProcessGroup) {
        self.group = group
    }

    public var size: Int { group.size }
    public var rank: Int { group.rank }

    public func allGather(_ tensor: Tensor, dim: Int) throws -> Tensor { try allGatherStarted(tensor, dim: dim)() }

    public func reduceScatter(_ tensor: Tensor, dim: Int) throws -> Tensor { try reduceScatterStarted(tensor, dim: dim)() }

    /// The gather runs on the backend's threads (Gloo) or stream (NCCL) while the caller computes. The collective
    /// gathers rank-major blocks of whole tensors: gathered along dimension 0, then moved back.
    public func allGatherStarted(_ tensor: Tensor, dim: Int) throws -> () throws -> Tensor {
        let moved = try tensor.transpose(0, dim).contiguous()
        var shape = moved.shape
        shape[0] *= size
        let gathered = try Tensor.empty(shape, dtype: moved.dtype, device: moved.device)
        let work = try group.allGatherAsync(into: gathered, from: moved)
        return {
            try work.wait()
            return try gathered.transpose(0, dim).contiguous()
        }
    }

    public func reduceScatterStarted(_ tensor: Tensor, dim: Int) throws -> () throws -> Tensor {
        let moved = try tensor.transpose(0, dim).contiguous()
        var shape = moved.shape
        shape[0] /= size
        let part = try Tensor.empty(shape, dtype: moved.dtype, device: moved.device)
        let work = try group.reduceScatterAsync(into: part, from: moved, .sum)
        return {
            try work.wait()
            return try part.transpose(0, dim).contiguous()
        }
    }

    public func allReduceSum(_ tensor: Tensor) throws -> Tensor {
        // The collective works in place; the caller's tensor (an autograd input) is left as it was.
        let sum = try tensor.contiguous().clone()
        try group.allReduce(sum, .sum)
        return sum
    }
}
