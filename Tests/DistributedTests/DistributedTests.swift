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

/// The backends of a process group: Gloo for CPU tensors always, NCCL for CUDA tensors when the rank is on a GPU.
@Suite struct ProcessGroupBackendTests {
    @Test func aCPUGroupHasGlooOnly() throws {
        // Port 0: the kernel picks a free one (a group of one has no peer that needs to know it).
        let group = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: 0, rank: 0, size: 1)
        #expect(!group.usesNCCL)
        let tensor = try Tensor([Float(3)], shape: [1])
        try group.allReduce(tensor)
        #expect(try tensor.item(Float.self) == 3)
    }

    @Test func aGPURankGetsNCCLOrAReasonWhyNot() throws {
        if CUDA.isLoaded && CUDA.deviceCount > 0 {
            // A machine with a GPU, CUDA loaded by an earlier test: the group of one runs NCCL's collectives.
            let group = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: 0, rank: 0, size: 1, device: .cuda(0))
            #expect(group.usesNCCL)
            let tensor = try Tensor([Float(3)], shape: [1]).to(device: .cuda(0))
            try group.allReduce(tensor)
            #expect(try tensor.item(Float.self) == 3)
            #expect(try ProcessGroup.ncclVersion().split(separator: ".").count == 3)
        } else {
            // Without CUDA loaded the NCCL backend cannot be made, and the error says why.
            let error = #expect(throws: DistributedError.self) {
                try ProcessGroup(masterAddress: "127.0.0.1", masterPort: 0, rank: 0, size: 1, device: .cuda(0))
            }
            #expect("\(error!)".contains("rank 0 on cuda:0: NCCL process groups need CUDA"), "\(error!)")
            #expect(throws: DistributedError.self) { try ProcessGroup.ncclVersion() }
        }
    }
}
