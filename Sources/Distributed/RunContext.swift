import Torch

/// Where this process stands in the job it belongs to: its place among the ranks, the device it computes on, the
/// group of all ranks and the environment variables it was given.
///
/// A training job makes one at its start and hands it on explicitly (to the components it builds, through the
/// graph's build environment, and to the driver), so nothing reads the process environment or a global
/// group behind its back. Outside a job, ``singleProcess`` describes one rank on the CPU.
public struct RunContext: @unchecked Sendable {
    /// The global rank (`RANK`).
    public var rank: Int
    /// The rank on this node (`LOCAL_RANK`).
    public var localRank: Int
    /// How many ranks the job has (`WORLD_SIZE`).
    public var worldSize: Int
    /// How many ranks run on this node (`LOCAL_WORLD_SIZE`; the world size when not set).
    public var localWorldSize: Int
    /// The device this rank computes on.
    public var device: Device
    /// The group of all ranks; nil for a job of one rank.
    public var worldGroup: ProcessGroup?
    /// The environment variables the job was given (for `${oc.env:...}` and the like).
    public var environment: [String: String]

    public init(
        rank: Int = 0, localRank: Int = 0, worldSize: Int = 1, localWorldSize: Int? = nil, device: Device = .cpu,
        worldGroup: ProcessGroup? = nil, environment: [String: String] = [:]
    ) {
        self.rank = rank
        self.localRank = localRank
        self.worldSize = worldSize
        self.localWorldSize = localWorldSize ?? worldSize
        self.device = device
        self.worldGroup = worldGroup
        self.environment = environment
    }

    /// One rank on the CPU, no group.
    public static var singleProcess: RunContext { RunContext() }

    /// Whether this is the global rank 0 (the one that writes shared files and logs).
    public var isRankZero: Bool { rank == 0 }
}
