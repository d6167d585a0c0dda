import Checkpointing
import Foundation
import TestSupport
import Testing

/// A run killed with SIGKILL at random moments — every other time at the first unfinished checkpoint folder seen after
/// that moment, i.e. while a checkpoint is being written — `MODALITIES_KILL_LOOP` times (once in `make test`; `scripts/kill-loop 50`
/// for RELIABILITY.md): every checkpoint folder with metadata opens with its checksums verified, the one
/// `last_checkpoint_info.json` names is complete, and a warmstart from it continues the uninterrupted run's losses,
/// gradient norms and learning rates bit-identically.
@Suite struct KillLoopTests {
    let jobs = TrainingJobTests()

    /// The test configs with a checkpoint and an evaluation after every step, so a kill can land in any save and a
    /// warmstart can start from any step.
    func everyStepConfigs(in folder: String) throws -> (run: String, warmstart: String) {
        func rewrite(_ path: String, to name: String) throws -> String {
            var text = try String(contentsOfFile: path, encoding: .utf8)
            for key in ["checkpointing_interval_in_steps", "evaluation_interval_in_steps"] {
                text = text.replacingOccurrences(of: "\(key): 4", with: "\(key): 1")
            }
            let copy = folder + "/" + name
            try text.write(toFile: copy, atomically: true, encoding: .utf8)
            return copy
        }
        return (
            try rewrite(TrainingJobTests.runConfig, to: "tiny_gpt2_every_step.yaml"),
            try rewrite(TrainingJobTests.warmstartConfig, to: "tiny_gpt2_warmstart_every_step.yaml")
        )
    }

    @Test func killedAtRandomMomentsEveryNamedCheckpointLoadsAndWarmstartsBitExactly() throws {
        let iterations = ProcessInfo.processInfo.environment["MODALITIES_KILL_LOOP"].flatMap { Int($0) } ?? 1
        let binary = try jobs.binary
        let root = try jobs.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let configs = try everyStepConfigs(in: root)
        let started = Date()
        try jobs.run(
            binary, ["run", "--config_file_path", configs.run, "--experiments_root_path", root + "/full", "--experiment_id", "full"])
        let runSeconds = Date().timeIntervalSince(started)
        let expected = try jobs.trainRecords(root + "/full/full/evaluation_results.jsonl")
        try #require(expected.count == 16)

        var random = SystemRandomNumberGenerator()
        var midSave = 0
        var warmstarts = 0
        var outcomes: [String] = []
        for iteration in 0..<iterations {
            let folder = root + "/killed-\(iteration)"
            let checkpoints = folder + "/checkpoints"
            let process = try jobs.start(
                binary, ["run", "--config_file_path", configs.run, "--experiments_root_path", folder, "--experiment_id", "killed"])
            // A random moment of the run; then, every other iteration, on until a checkpoint folder without
            // metadata.json (being written) is seen, so that kill lands inside a save.
            let deadline = Date().addingTimeInterval(runSeconds * Double.random(in: 0.3...0.95, using: &random))
            while process.isRunning, Date() < deadline { usleep(5_000) }
            var sawUnfinished = false
            while iteration % 2 == 0, process.isRunning {
                if let names = try? FileManager.default.contentsOfDirectory(atPath: checkpoints),
                    names.contains(where: {
                        $0.hasPrefix("eid_") && !FileManager.default.fileExists(atPath: checkpoints + "/" + $0 + "/metadata.json")
                    })
                {
                    sawUnfinished = true
                    break
                }
                usleep(200)
            }
            guard process.isRunning else {
                outcomes.append("finished first")
                continue
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if sawUnfinished { midSave += 1 }

            // Every finished folder opens, checksums verified.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? [] where name.hasPrefix("eid_") {
                let path = checkpoints + "/" + name
                if FileManager.default.fileExists(atPath: path + "/metadata.json") {
                    #expect(throws: Never.self, "iteration \(iteration): \(name)") { _ = try CheckpointReader(folder: path) }
                }
            }
            let info = checkpoints + "/last_checkpoint_info.json"
            guard FileManager.default.fileExists(atPath: info) else {
                outcomes.append("before the first checkpoint")
                continue
            }
            let named = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: String])[
                    "checkpoint_folder_path"]!
            let resumedFrom = try CheckpointReader(folder: named).trainingProgress["num_seen_steps"]!
            guard resumedFrom < 16 else {
                outcomes.append("after the last checkpoint")
                continue
            }
            outcomes.append("\(sawUnfinished ? "mid-save, " : "")warmstart from step \(resumedFrom)")
            try jobs.run(
                binary,
                [
                    "warmstart", "--config_file_path", configs.warmstart, "--experiments_root_path", folder + "/warm",
                    "--last_checkpoint_info_file_path", info,
                ])
            warmstarts += 1
            let experiment = try #require(
                try FileManager.default.contentsOfDirectory(atPath: folder + "/warm").first { $0 != "checkpoints" })
            let continued = try jobs.trainRecords(folder + "/warm/" + experiment + "/evaluation_results.jsonl")
            #expect(continued.keys.sorted() == Array((resumedFrom + 1)...16), "iteration \(iteration)")
            for step in continued.keys {
                let a = expected[step]!, b = continued[step]!
                #expect(a["losses"] as? [String: Double] == b["losses"] as? [String: Double], "iteration \(iteration), step \(step)")
                #expect(
                    (a["metrics"] as? [String: Any])?["grad norm last"] as? Double
                        == (b["metrics"] as? [String: Any])?["grad norm last"] as? Double)
                #expect(
                    (a["throughput_metrics"] as? [String: Any])?["lr mean"] as? Double
                        == (b["throughput_metrics"] as? [String: Any])?["lr mean"] as? Double)
            }
            try? FileManager.default.removeItem(atPath: folder)
        }
        print(
            "kill loop: \(iterations) iterations, \(midSave) killed while a checkpoint was being written, \(warmstarts) warmstarts compared bit for bit; "
                + outcomes.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: "; "))
    }
}
