import Launcher
import Testing

/// Which GPU a rank trains on.
@Suite struct GPUBindingTests {
    @Test func localRankPicksItsGPUWhenTheNodesGPUsAreVisible() throws {
        // torchrun and launch: every rank sees all 8 GPUs.
        #expect(try GPUBinding(localRank: 5, visibleDevices: 8, visibleDeviceList: nil).deviceIndex == 5)
        #expect(try GPUBinding(localRank: 0, visibleDevices: 1, visibleDeviceList: nil).deviceIndex == 0)
        #expect(try GPUBinding(localRank: 3, visibleDevices: 4, visibleDeviceList: "0,1,2,3").deviceIndex == 3)
    }

    @Test func aRankGivenOneGPUOfItsOwnUsesIt() throws {
        // SLURM's --gpus-per-task=1: local rank 3 sees only its GPU, as cuda:0.
        #expect(try GPUBinding(localRank: 3, visibleDevices: 1, visibleDeviceList: "3").deviceIndex == 0)
    }

    @Test func tooFewGPUsIsAnErrorNamingTheCounts() throws {
        // One GPU without CUDA_VISIBLE_DEVICES, 2 ranks: both would share it, which NCCL refuses.
        let shared = #expect(throws: GPUBinding.Problem.self) { try GPUBinding(localRank: 1, visibleDevices: 1, visibleDeviceList: nil) }
        #expect(shared == .tooFewDevices(localRank: 1, visible: 1))
        #expect("\(shared!)" == "local rank 1 has no GPU of its own: CUDA sees 1 device(s), cuda:0..<1 (run at most 1 rank(s) per node on GPUs, or --device cpu)")
        #expect(throws: GPUBinding.Problem.self) { try GPUBinding(localRank: 2, visibleDevices: 2, visibleDeviceList: "0,1") }
        #expect(throws: GPUBinding.Problem.self) { try GPUBinding(localRank: 0, visibleDevices: 0, visibleDeviceList: "") }
    }
}
