import Distributed
import Testing
import Torch

@Suite struct DeviceMeshTests {
    @Test func membersFollowTorchtitansLayout() throws {
        // 8 ranks: 2 replicas × 2 shards × 2 tensor-parallel.
        let mesh = try DeviceMesh(dataParallelReplicateDegree: 2, dataParallelShardDegree: 2, tensorParallelDegree: 2, worldSize: 8)
        #expect(mesh.members(of: 5, along: [.tp]) == [4, 5])
        #expect(mesh.members(of: 5, along: [.dp_shard]) == [5, 7])
        #expect(mesh.members(of: 5, along: [.dp_replicate]) == [1, 5])
        #expect(mesh.members(of: 5, along: [.dp_replicate, .dp_shard]) == [1, 3, 5, 7])
        #expect(mesh.dataParallelDegree == 4)
        let inferred = try DeviceMesh(dataParallelShardDegree: -1, tensorParallelDegree: 2, worldSize: 8)
        #expect(inferred.degree(of: [.dp_shard]) == 4)
        #expect(throws: DistributedError.self) { try DeviceMesh(dataParallelShardDegree: 3, worldSize: 8) }
    }
}

/// The run context a job hands to what it builds.
@Suite struct RunContextDefaultTests {
    @Test func oneProcessOnTheCPUByDefault() {
        let context = RunContext.singleProcess
        #expect(context.rank == 0 && context.worldSize == 1 && context.localWorldSize == 1 && context.worldGroup == nil)
        #expect(context.device == .cpu && context.isRankZero)
        // Ranks per node default to the world (one node).
        #expect(RunContext(rank: 3, worldSize: 4).localWorldSize == 4)
        #expect(!RunContext(rank: 3, worldSize: 8, localWorldSize: 4).isRankZero)
    }
}
