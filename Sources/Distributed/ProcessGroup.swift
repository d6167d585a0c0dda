import CTorch
import Dispatch
import Foundation
import Synchronization
import Torch

/// A group of ranks that run collectives together over a TCPStore rendezvous: c10d's ProcessGroupGloo for CPU
/// tensors and, when the ranks run on GPUs, ProcessGroupNCCL for CUDA tensors (each collective goes to the backend of
/// its tensors' device, as a PyTorch group made with `cpu:gloo,cuda:nccl` does).
///
/// Collectives are synchronous and in place; on Gloo a peer that died or a timeout throws
/// ``DistributedError/collectiveFailed(_:)`` naming the collective and the rank. An NCCL collective orders the
/// calling thread's current CUDA stream after itself and returns; one that runs past the timeout makes NCCL's
/// watchdog abort the communicator and end the process, naming the collective, so `launch` stops the job.
public final class ProcessGroup: @unchecked Sendable {  // c10d process groups are thread-safe; one caller at a time here
    public enum ReduceOperation: Int32, Sendable { case sum = 0, max = 1, min = 2, product = 3 }

    public let rank: Int
    public let size: Int
    let handle: ct_process_group
    /// Subgroups made from this group, by rendezvous prefix.
    private let subgroups = Mutex<[String: ProcessGroup]>([:])

    /// Joins the group: rank 0 serves the store at `masterAddress:masterPort`, the others connect. With a CUDA
    /// `device` (this rank's GPU, already current) the group gets NCCL for CUDA tensors; CUDA must be loaded.
    public init(
        masterAddress: String, masterPort: Int, rank: Int, size: Int, timeout: Duration = .seconds(60), prefix: String = "",
        device: Device = .cpu
    ) throws {
        try Runtime.start()
        var handle: ct_process_group?
        try Self.check(
            "process group rendezvous at \(masterAddress):\(masterPort) as rank \(rank) of \(size)",
            ct_process_group_create_gloo(
                masterAddress, Int32(masterPort), prefix, Int32(rank), Int32(size),
                Self.milliseconds(timeout), &handle))
        self.handle = handle!
        self.rank = rank
        self.size = size
        if device.kind == .cuda {
            guard ct_process_group_add_nccl(self.handle, Int32(device.index ?? 0)) == 0 else {
                throw DistributedError.unavailable("rank \(rank) on \(device): \(Self.lastError)")
            }
        }
    }

    /// Whether CUDA tensors' collectives go through NCCL in this group (its ranks run on GPUs).
    public var usesNCCL: Bool { ct_process_group_has_nccl(handle) }

    /// The NCCL version libtorch runs with (e.g. "2.28.9"), once CUDA is loaded.
    public static func ncclVersion() throws -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard ct_nccl_version(&buffer, buffer.count) == 0 else {
            throw DistributedError.unavailable(lastError)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private init(handle: ct_process_group, rank: Int, size: Int) {
        self.handle = handle
        self.rank = rank
        self.size = size
    }

    deinit { ct_process_group_free(handle) }

    /// The group of the calling process from the launcher's (or torchrun's, or SLURM's) environment, or nil when
    /// the job runs on one rank, unless `includingOneRank` asks for a group of one (tools that measure collectives on
    /// one GPU). With a CUDA `device` the group gets NCCL for CUDA tensors beside Gloo.
    public static func fromEnvironment(
        _ environment: [String: String],
        timeout: Duration = .seconds(60),
        device: Device = .cpu,
        includingOneRank: Bool = false
    ) throws -> ProcessGroup? {
        let launch = try LaunchEnvironment(environment)
        guard launch.worldSize > 1 || includingOneRank else { return nil }
        return try ProcessGroup(
            masterAddress: launch.masterAddress, masterPort: launch.masterPort, rank: launch.rank, size: launch.worldSize,
            timeout: timeout, device: device)
    }

    /// A group of `members` (global ranks, this process among them), e.g. one device-mesh dimension, with NCCL when
    /// this group has it. Every rank of this group must call it with its own members, in the same order of calls.
    /// Asking again for the same name and members returns the group made the first time (its rendezvous keys in the
    /// store are used up).
    public func subgroup(members: [Int], name: String, timeout: Duration = .seconds(60)) throws -> ProcessGroup {
        guard let position = members.firstIndex(of: rank) else {
            throw DistributedError.invalidMesh("rank \(rank) is not a member of subgroup \(name) \(members)")
        }
        let prefix = "\(name)/" + members.map(String.init).joined(separator: ",")
        return try subgroups.withLock { subgroups in
            if let existing = subgroups[prefix] { return existing }
            var child: ct_process_group?
            try Self.check(
                "subgroup \(name) rendezvous",
                ct_process_group_create_subgroup(
                    handle, prefix, Int32(position), Int32(members.count),
                    Self.milliseconds(timeout), &child))
            let group = ProcessGroup(handle: child!, rank: position, size: members.count)
            subgroups[prefix] = group
            return group
        }
    }

    public func allReduce(_ tensors: [Tensor], _ operation: ReduceOperation = .sum) throws {
        var handles: [ct_tensor?] = tensors.map(\.handle)
        try withExtendedLifetime(tensors) {
            try Self.check("all_reduce", ct_process_group_all_reduce(handle, &handles, Int64(handles.count), operation.rawValue))
        }
    }

    public func allReduce(_ tensor: Tensor, _ operation: ReduceOperation = .sum) throws { try allReduce([tensor], operation) }

    public func broadcast(_ tensor: Tensor, root: Int) throws {
        try Self.check("broadcast", ct_process_group_broadcast(handle, tensor.handle, Int32(root)))
    }

    /// `output` holds `size` blocks of `input`'s elements, rank r's in block r.
    public func allGather(into output: Tensor, from input: Tensor) throws {
        try Self.check("all_gather", ct_process_group_all_gather(handle, output.handle, input.handle))
    }

    /// `input` holds `size` blocks of `output`'s elements; this rank gets the reduction of its block.
    public func reduceScatter(into output: Tensor, from input: Tensor, _ operation: ReduceOperation = .sum) throws {
        try Self.check("reduce_scatter", ct_process_group_reduce_scatter(handle, output.handle, input.handle, operation.rawValue))
    }

    public func barrier() throws { try Self.check("barrier", ct_process_group_barrier(handle)) }

    public func send(_ tensor: Tensor, to destination: Int, tag: Int = 0) throws {
        try Self.check("send", ct_process_group_send(handle, tensor.handle, Int32(destination), Int32(tag)))
    }

    public func receive(into tensor: Tensor, from source: Int, tag: Int = 0) throws {
        try Self.check("recv", ct_process_group_receive(handle, tensor.handle, Int32(source), Int32(tag)))
    }

    /// `text` from `root` on every rank (experiment ids and the like).
    public func broadcast(_ text: String, root: Int = 0, capacity: Int = 1024) throws -> String {
        let bytes = Array(text.utf8)
        guard bytes.count <= capacity else {
            throw DistributedError.invalidMesh("a \(bytes.count)-byte string exceeds the \(capacity)-byte broadcast")
        }
        let buffer = try Tensor((bytes + [UInt8](repeating: 0, count: capacity - bytes.count)).map { Int32($0) }, shape: [capacity])
        let length = try Tensor([Int32(bytes.count)], shape: [1])
        try broadcast(length, root: root)
        try broadcast(buffer, root: root)
        let received = try buffer.toArray(Int32.self).prefix(Int(try length.item(Int32.self))).map { UInt8($0) }
        return String(decoding: received, as: UTF8.self)
    }

    /// Every rank's `text`, in rank order, on every rank (what a rank alone knows, e.g. its pipeline stages'
    /// parameters, for the rank that writes a summary).
    public func allGatherText(_ text: String) throws -> [String] {
        let bytes = Array(text.utf8)
        let lengths = try Tensor.zeros([size], dtype: .int64)
        try allGather(into: lengths, from: try Tensor([Int64(bytes.count)], shape: [1]))
        let counts = try lengths.toArray(Int64.self).map(Int.init)
        let capacity = Swift.max(counts.max() ?? 0, 1)
        let padded = try Tensor((bytes + [UInt8](repeating: 0, count: capacity - bytes.count)).map { Int32($0) }, shape: [capacity])
        let gathered = try Tensor.zeros([size * capacity], dtype: .int32)
        try allGather(into: gathered, from: padded)
        let values = try gathered.toArray(Int32.self)
        return (0..<size).map { rank in
            String(decoding: values[(rank * capacity)..<(rank * capacity + counts[rank])].map { UInt8($0) }, as: UTF8.self)
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Seconds this process has spent blocked in collectives (synchronous calls and waits on asynchronous ones),
    /// summed over every group: the communication a step could not hide behind computation.
    public static var blockingSeconds: Double {
        Double(blockingNanoseconds.load(ordering: .relaxed)) / 1e9
    }

    private static let blockingNanoseconds = Atomic<UInt64>(0)

    /// The shim's message for this thread's last failed call.
    private static var lastError: String { ct_last_error().map { String(cString: $0) } ?? "unknown error" }

    /// Runs a collective's C call, counting its duration in ``blockingSeconds``, and turns a failure into an error.
    static func check(_ operation: String, _ status: @autoclosure () -> Int32) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let status = status()
        blockingNanoseconds.add(DispatchTime.now().uptimeNanoseconds - start, ordering: .relaxed)
        guard status != 0 else { return }
        throw DistributedError.collectiveFailed("\(operation): \(lastError)")
    }
}

/// Where this process sits in a multi-process job, from the variables torchrun, our launcher or SLURM set.
public struct LaunchEnvironment: Sendable, Equatable {
    public var rank: Int
    public var localRank: Int
    public var worldSize: Int
    public var masterAddress: String
    public var masterPort: Int

    public init(_ environment: [String: String]) throws {
        func integer(_ names: [String], default value: Int) throws -> Int {
            for name in names {
                if let text = environment[name] {
                    guard let number = Int(text) else { throw DistributedError.invalidMesh("\(name)=\(text) is not an integer") }
                    return number
                }
            }
            return value
        }
        rank = try integer(["RANK", "SLURM_PROCID"], default: 0)
        localRank = try integer(["LOCAL_RANK", "SLURM_LOCALID"], default: 0)
        worldSize = try integer(["WORLD_SIZE", "SLURM_NTASKS"], default: 1)
        masterAddress = environment["MASTER_ADDR"] ?? "127.0.0.1"
        masterPort = try integer(["MASTER_PORT"], default: 29_500)
        guard worldSize >= 1, (0..<worldSize).contains(rank) else {
            throw DistributedError.invalidMesh("RANK \(rank) is not in 0..<WORLD_SIZE (\(worldSize))")
        }
    }
}

/// A collective started with ``ProcessGroup/allReduceAsync(_:_:)`` or ``ProcessGroup/allGatherAsync(into:from:)``:
/// runs on the backend's threads while the caller goes on; ``wait()`` before reading the tensors.
public final class CollectiveWork: @unchecked Sendable {
    let handle: ct_work
    private let tensors: [Tensor]

    init(handle: ct_work, tensors: [Tensor]) {
        self.handle = handle
        self.tensors = tensors
    }

    deinit { ct_work_free(handle) }

    public func wait() throws { try ProcessGroup.check("collective", ct_work_wait(handle)) }
}

extension ProcessGroup {
    /// Starts an in-place all-reduce and returns at once.
    public func allReduceAsync(_ tensors: [Tensor], _ operation: ReduceOperation = .sum) throws -> CollectiveWork {
        var handles: [ct_tensor?] = tensors.map(\.handle)
        var work: ct_work?
        try withExtendedLifetime(tensors) {
            try Self.check(
                "all_reduce", ct_process_group_all_reduce_async(handle, &handles, Int64(handles.count), operation.rawValue, &work))
        }
        return CollectiveWork(handle: work!, tensors: tensors)
    }

    /// Starts sending `tensor` to `destination` (its receive matches `tag`) and returns at once; the work keeps the
    /// tensor until waited on. Pipeline stages post their sends this way so that no rank waits on a peer's receive.
    public func sendAsync(_ tensor: Tensor, to destination: Int, tag: Int = 0) throws -> CollectiveWork {
        var work: ct_work?
        try withExtendedLifetime(tensor) {
            try Self.check("send", ct_process_group_send_async(handle, tensor.handle, Int32(destination), Int32(tag), &work))
        }
        return CollectiveWork(handle: work!, tensors: [tensor])
    }

    /// Starts reducing `input`'s blocks over the ranks, this rank's block into `output`, and returns at once.
    public func reduceScatterAsync(into output: Tensor, from input: Tensor, _ operation: ReduceOperation = .sum) throws -> CollectiveWork {
        var work: ct_work?
        try withExtendedLifetime((output, input)) {
            try Self.check(
                "reduce_scatter",
                ct_process_group_reduce_scatter_async(handle, output.handle, input.handle, operation.rawValue, &work))
        }
        return CollectiveWork(handle: work!, tensors: [output, input])
    }

    /// Starts gathering every rank's `input` into `output` (rank after rank) and returns at once.
    public func allGatherAsync(into output: Tensor, from input: Tensor) throws -> CollectiveWork {
        var work: ct_work?
        try withExtendedLifetime((output, input)) {
            try Self.check("all_gather", ct_process_group_all_gather_async(handle, output.handle, input.handle, &work))
        }
        return CollectiveWork(handle: work!, tensors: [output, input])
    }
}
