import Distributed
import Torch

/// How pipeline stages on different ranks pass activations forward and gradients backward: point-to-point
/// messages between the ranks of a pipeline group, matched by tag.
public protocol PipelineTransport: AnyObject {
    /// This rank's place in the pipeline group.
    var rank: Int { get }
    /// Ranks in the pipeline group.
    var size: Int { get }
    /// Starts sending `tensor` to `peer` and returns without waiting for it to arrive.
    func send(_ tensor: Tensor, to peer: Int, tag: Int) throws
    /// The tensor `peer` sent with `tag` (any shape and dtype), once it has arrived.
    func receive(from peer: Int, tag: Int) throws -> Tensor
    /// Waits until every send started so far has been delivered.
    func finishSends() throws
}

/// A pipeline group's messages over c10d send/receive: each tensor goes as a small header (dtype and shape) and
/// then its values, both sent without waiting (PyTorch's `isend`), so that no rank blocks on a peer's receive.
public final class ProcessGroupPipelineTransport: PipelineTransport {
    public let group: ProcessGroup
    /// Where received tensors are created.
    public let device: Device
    private var pending: [CollectiveWork] = []
    private static let headerLength = 10

    public init(group: ProcessGroup, device: Device = .cpu) {
        self.group = group
        self.device = device
    }

    public var rank: Int { group.rank }
    public var size: Int { group.size }

    public func send(_ tensor: Tensor, to peer: Int, tag: Int) throws {
        let shape = tensor.shape
        guard shape.count <= Self.headerLength - 2 else {
            throw ParallelismError.invalidConfig(
                "a pipeline stage sent a tensor of \(shape.count) dimensions (at most \(Self.headerLength - 2))")
        }
        let values = [Int64(tensor.dtype.rawValue), Int64(shape.count)] + shape.map(Int64.init)
        let header = try Tensor(values + [Int64](repeating: 0, count: Self.headerLength - values.count), shape: [Self.headerLength])
        pending.append(try group.sendAsync(header, to: peer, tag: 2 * tag))
        pending.append(try group.sendAsync(try tensor.contiguous(), to: peer, tag: 2 * tag + 1))
    }

    public func receive(from peer: Int, tag: Int) throws -> Tensor {
        let header = try Tensor.zeros([Self.headerLength], dtype: .int64)
        try group.receive(into: header, from: peer, tag: 2 * tag)
        let values = try header.toArray(Int64.self).map(Int.init)
        guard let dtype = DType(rawValue: Int32(values[0])), values[1] >= 0, values[1] <= Self.headerLength - 2 else {
            throw ParallelismError.mismatch("pipeline rank \(peer) sent a header this rank cannot read: \(values)")
        }
        let tensor = try Tensor.empty(Array(values[2..<(2 + values[1])]), dtype: dtype, device: device)
        try group.receive(into: tensor, from: peer, tag: 2 * tag + 1)
        return tensor
    }

    public func finishSends() throws {
        defer { pending.removeAll() }
        for work in pending { try work.wait() }
    }
}
