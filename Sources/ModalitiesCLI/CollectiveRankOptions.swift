import ArgumentParser
import Distributed
import Launcher
import Logging
import Torch

/// Where the collective tools (`collectives_check`, `benchmark collectives`) run their tensors: the CPU through Gloo,
/// or each rank's GPU (`cuda:LOCAL_RANK`) through NCCL.
struct CollectiveRankOptions: ParsableArguments {
    @Option(help: "cpu (Gloo), cuda (each rank on its GPU, collectives through NCCL) or auto (cuda where the machine has a GPU).")
    var device: DeviceChoice = .cpu

    /// Binds this rank to its device and joins the launched job's group, of one rank too when `includingOneRank`;
    /// nil when the environment names no multi-rank job and one rank is not wanted.
    func joinGroup(timeout: Duration = .seconds(60), includingOneRank: Bool = false) throws -> (group: ProcessGroup, device: Device)? {
        let environment = ProcessEnvironment.variables
        let launch = try LaunchEnvironment(environment)
        let rankDevice = try TrainingJob.trainingDevice(
            device, localRank: launch.localRank, environment: environment,
            logger: Logger(label: "modalities.collectives"))
        guard
            let group = try ProcessGroup.fromEnvironment(
                environment, timeout: timeout, device: rankDevice, includingOneRank: includingOneRank)
        else { return nil }
        return (group, rankDevice)
    }

    /// The backends a line of output names.
    static func backendName(_ group: ProcessGroup, on device: Device) -> String {
        group.usesNCCL ? "NCCL \((try? ProcessGroup.ncclVersion()) ?? "") on \(device)" : "Gloo on CPU tensors"
    }
}
