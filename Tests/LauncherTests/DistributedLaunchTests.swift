import Foundation
import Testing

/// Several processes on this machine talking through c10d's Gloo backend, started by `modalities launch`.
@Suite(.serialized) struct DistributedLaunchTests {
    /// A port unlikely to be taken, different per call.
    static func port() -> String { String(Int.random(in: 31_000...39_000)) }

    func launch(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TrainingJobTests().binary)
        process.arguments = arguments
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

/// Replicated data parallelism over 2 and 4 processes equals one process with the same global batch.
@Suite(.serialized) struct DataParallelTrainingTests {
    func trainLosses(ranks: Int, microBatch: Int, accumulation: Int) throws -> [Int: (loss: Double, norm: Double)] {
        let root = try TrainingJobTests().temporaryFolder()
        let config = root + "/config.yaml"
        let text = try String(contentsOfFile: TrainingJobTests.runConfig, encoding: .utf8)
            .replacingOccurrences(of: "gradient_accumulation_steps: 2", with: "gradient_accumulation_steps: \(accumulation)")
            .replacingOccurrences(of: "local_train_micro_batch_size: 2", with: "local_train_micro_batch_size: \(microBatch)")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let command = ["run", "--config_file_path", config, "--experiments_root_path", root, "--experiment_id", "dp"]
        let (status, output) = try DistributedLaunchTests().launch(
            ranks == 1 ? command : ["launch", "--nproc_per_node", String(ranks), "--master_port", DistributedLaunchTests.port(), "--"] + command)
        #expect(status == 0, "\(output.suffix(3000))")
        var losses: [Int: (Double, Double)] = [:]
        for record in try TrainingJobTests().trainRecords(root + "/dp/evaluation_results.jsonl") {
            losses[record.key] = ((record.value["losses"] as! [String: Double])["train loss avg"]!,
                                  (record.value["metrics"] as! [String: Any])["grad norm last"] as! Double)
        }
        return losses
    }

    @Test func twoAndFourRanksFollowTheOneRankTrajectory() throws {
        let single = try trainLosses(ranks: 1, microBatch: 2, accumulation: 2)
        #expect(single.count == 16)
        for (ranks, microBatch) in [(2, 2), (4, 1)] {
            let parallel = try trainLosses(ranks: ranks, microBatch: microBatch, accumulation: 1)
            #expect(parallel.count == 16, "\(ranks) ranks")
            for (step, expected) in single {
                let actual = try #require(parallel[step])
                #expect(Swift.abs(actual.loss - expected.loss) <= 1e-5 * expected.loss, "\(ranks) ranks, step \(step): \(actual.loss) vs \(expected.loss)")
                #expect(Swift.abs(actual.norm - expected.norm) <= 1e-5 * expected.norm, "\(ranks) ranks, step \(step) grad norm")
            }
        }
    }
}
