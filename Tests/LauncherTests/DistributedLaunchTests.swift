@testable import Ablations
import Foundation
import Testing

/// Several processes on this machine talking through c10d's Gloo backend, started by `modalities launch`.
@Suite(.serialized) struct DistributedLaunchTests {
    /// A TCP port no one listens on now, as the kernel picks one for a socket bound to port 0 (the sweep runner's
    /// choice). A random port could fall among the ephemeral ports other tests' connections hold.
    static func port() -> String { String(ChildProcess.freePort()) }

    func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TrainingJobTests().binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test(arguments: [2, 4])
    func everyCollectiveGivesTheRightResult(ranks: Int) throws {
        let (status, output) = try launch(["launch", "--nproc_per_node", String(ranks), "--master_port", Self.port(), "--", "collectives_check"])
        #expect(status == 0, "\(output)")
        #expect(output.components(separatedBy: "collectives ok").count - 1 == ranks)
    }

    @Test func aRankThatDiesTakesTheJobDownNamingIt() throws {
        let start = Date()
        let (status, output) = try launch(["launch", "--nproc_per_node", "2", "--master_port", Self.port(), "--grace_period", "2", "--",
                                           "collectives_check", "--exit_rank", "1"])
        #expect(status == 3)
        #expect(output.contains("rank 1 exited with status 3"))
        #expect(Date().timeIntervalSince(start) < 30)
    }
}

/// Replicated data parallelism (`model/ddp_wrapped`) over 2 and 4 processes equals one process with the same global
/// batch.
@Suite(.serialized) struct DataParallelTrainingTests {
    @Test func twoAndFourRanksFollowTheOneRankTrajectory() throws {
        let single = try DistributedRun(ranks: 1, microBatch: 2, accumulation: 2, engine: .replicated).losses()
        #expect(single.count == 16)
        for (ranks, microBatch) in [(2, 2), (4, 1)] {
            let parallel = try DistributedRun(ranks: ranks, microBatch: microBatch, accumulation: 1, engine: .replicated).losses()
            DistributedRun.expectSameTrajectory(parallel, single, "\(ranks) ranks", normTolerance: 1e-5)
        }
    }
}
