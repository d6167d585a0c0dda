import Checkpointing
import Foundation
import Launcher
import Logging
import Observability
import TestSupport
import Testing
import Torch

#if canImport(Glibc)
import Glibc
#endif

/// End to end on the CPU: Modalities-grammar configs run as written, through the same code path as `modalities run`
/// and `modalities warmstart`.
@Suite(.serialized) struct TrainingJobTests {
    static let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Configs").path
    static let runConfig = configs + "/tiny_gpt2.yaml"
    static let warmstartConfig = configs + "/tiny_gpt2_warmstart.yaml"

    func temporaryFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "launcher-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["MODALITIES_TEST_DATA"] = TestData.folder
        for name in ["LOCAL_RANK", "RANK", "WORLD_SIZE"] { environment[name] = nil }
        return environment
    }

    /// The `modalities` binary built next to the test bundle.
    var binary: String {
        get throws {
            guard let binary = TestData.modalitiesBinary else {
                throw LaunchError.invalid("the modalities binary is not built next to the tests (run `swift build --build-tests`)")
            }
            return binary
        }
    }

    func trainRecords(_ path: String) throws -> [Int: [String: Any]] {
        var records: [Int: [String: Any]] = [:]
        for record in try JSONLinesResultSubscriber.records(at: path) where record["dataloader_tag"] as? String == "train" {
            records[record["num_train_steps_done"] as! Int] = record
        }
        return records
    }

    @Test func aModalitiesConfigTrainsToItsTargetWithFallingLoss() throws {
        let root = try temporaryFolder()
        var options = TrainingJob.Options(
            configFilePath: Self.runConfig, experimentsRootPath: root, experimentID: "tiny",
            environment: environment, logger: silent)
        options.device = .cpu  // the CPU's trajectory, also on a machine with a GPU
        let summary = try TrainingJob(options: options).run()
        #expect(summary.progress.numSeenStepsTotal == 16 && summary.progress.numSeenTokensTotal == 16 * 256)
        #expect(summary.experimentFolder == root + "/tiny")
        let files = try FileManager.default.contentsOfDirectory(atPath: summary.experimentFolder).sorted()
        #expect(files == ["evaluation_results.jsonl", "tiny_gpt2.yaml", "tiny_gpt2.yaml.resolved"])

        let records = try JSONLinesResultSubscriber.records(at: summary.experimentFolder + "/evaluation_results.jsonl")
        let train = records.filter { $0["dataloader_tag"] as? String == "train" }
        let test = records.filter { $0["dataloader_tag"] as? String == "test" }
        #expect(train.count == 16 && test.count == 4)
        #expect(test.map { $0["num_train_steps_done"] as? Int } == [4, 8, 12, 16])
        func loss(_ record: [String: Any], _ key: String) -> Double { (record["losses"] as! [String: Double])[key]! }
        #expect(loss(train[15], "train loss avg") < loss(train[0], "train loss avg") - 1)
        #expect(loss(test[3], "CLMCrossEntropyLoss") < loss(test[0], "CLMCrossEntropyLoss"))
        #expect((train[15]["metrics"] as? [String: Any])?["consumed tokens"] as? Int == 4096)
        let throughput = Set((train[15]["throughput_metrics"] as? [String: Any] ?? [:]).keys)
        #expect(throughput.isSuperset(of: ["train samples/s", "lr mean"]))
        // The config has an MFU calculator: computed against a peak the CPU cannot exceed, so within (0, 1].
        for record in train {
            let mfu = try #require((record["throughput_metrics"] as? [String: Any])?["train mfu (16-bit)"] as? Double)
            #expect(mfu > 0 && mfu <= 1, "step \(record["num_train_steps_done"] ?? "?"): mfu \(mfu)")
        }

        // k = 2: the two newest checkpoints stay, and the info file names the last one.
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: root + "/checkpoints").sorted()
        #expect(
            checkpoints == [
                "eid_tiny-seen_steps_12-seen_tokens_3072-target_steps_16-target_tokens_4096",
                "eid_tiny-seen_steps_16-seen_tokens_4096-target_steps_16-target_tokens_4096", "last_checkpoint_info.json",
            ])
        let reader = try CheckpointReader(folder: root + "/checkpoints/" + checkpoints[1])
        #expect(reader.metadata["experiment_id"] as? String == "tiny")
        #expect((reader.metadata["resolved_config"] as? String)?.contains("num_target_steps: 16") == true)
    }

    @Test func warmstartAfterAKillContinuesBitIdentically() throws {
        let binary = try binary
        // The uninterrupted run.
        let full = try temporaryFolder()
        try run(
            binary,
            ["run", "--config_file_path", Self.runConfig, "--experiments_root_path", full, "--experiment_id", "full", "--device", "cpu"])
        let expected = try trainRecords(full + "/full/evaluation_results.jsonl")
        #expect(expected.count == 16)

        // The same run, killed (SIGKILL) once step 10 is logged.
        let killed = try temporaryFolder()
        let process = try start(
            binary,
            [
                "run", "--config_file_path", Self.runConfig, "--experiments_root_path", killed, "--experiment_id", "killed", "--device",
                "cpu",
            ])
        let results = killed + "/killed/evaluation_results.jsonl"
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, process.isRunning, ((try? trainRecords(results))?.keys.max() ?? 0) < 10 { usleep(20_000) }
        #expect(process.isRunning, "the run ended before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)

        let info = killed + "/checkpoints/last_checkpoint_info.json"
        let folder = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: String])[
                "checkpoint_folder_path"]!
        let resumedFrom = try CheckpointReader(folder: folder).trainingProgress["num_seen_steps"]!
        #expect(resumedFrom >= 8 && resumedFrom < 16)

        let resumed = try temporaryFolder()
        try run(
            binary,
            [
                "warmstart", "--config_file_path", Self.warmstartConfig, "--experiments_root_path", resumed,
                "--last_checkpoint_info_file_path", info, "--device", "cpu",
            ])
        let experiment = try #require(try FileManager.default.contentsOfDirectory(atPath: resumed).first { $0 != "checkpoints" })
        let continued = try trainRecords(resumed + "/" + experiment + "/evaluation_results.jsonl")
        #expect(continued.keys.sorted() == Array((resumedFrom + 1)...16))
        for step in (resumedFrom + 1)...16 {
            let a = expected[step]!, b = continued[step]!
            #expect(a["losses"] as? [String: Double] == b["losses"] as? [String: Double], "step \(step)")
            #expect(
                (a["metrics"] as? [String: Any])?["grad norm last"] as? Double == (b["metrics"] as? [String: Any])?["grad norm last"]
                    as? Double)
            #expect(
                (a["throughput_metrics"] as? [String: Any])?["lr mean"] as? Double == (b["throughput_metrics"] as? [String: Any])?[
                    "lr mean"] as? Double)
        }
    }

    @Test func theRunConfigResumesFromACheckpointBitIdentically() throws {
        let binary = try binary
        let root = try temporaryFolder()
        try run(
            binary,
            ["run", "--config_file_path", Self.runConfig, "--experiments_root_path", root, "--experiment_id", "full", "--device", "cpu"])
        let expected = try trainRecords(root + "/full/evaluation_results.jsonl")
        let checkpoint = try #require(
            try FileManager.default.contentsOfDirectory(atPath: root + "/checkpoints").first { $0.contains("seen_steps_12-") })
        try run(
            binary,
            [
                "run", "--config_file_path", Self.runConfig, "--experiments_root_path", root, "--experiment_id", "resumed",
                "--resume_from_checkpoint", root + "/checkpoints/" + checkpoint, "--device", "cpu",
            ])
        let resumed = try trainRecords(root + "/resumed/evaluation_results.jsonl")
        #expect(resumed.keys.sorted() == Array(13...16))
        for (step, record) in resumed {
            #expect(record["losses"] as? [String: Double] == expected[step]?["losses"] as? [String: Double], "step \(step)")
        }
        // A warmstart config (its app state already loads a checkpoint) is refused with the reason.
        let output = try run(
            binary,
            [
                "run", "--config_file_path", Self.warmstartConfig, "--experiments_root_path", root, "--experiment_id", "x",
                "--resume_from_checkpoint", root + "/checkpoints/" + checkpoint,
            ], expectedStatus: 1)
        #expect(output.contains("resuming replaces an app_state/raw"), "\(output)")
    }

    @Test func aBadConfigFailsBeforeTrainingAndWritesAnErrorLog() throws {
        let root = try temporaryFolder()
        let config = root + "/bad.yaml"
        let text = try String(contentsOfFile: Self.runConfig, encoding: .utf8).replacingOccurrences(
            of: "max_norm: 1.0", with: "max_norm: -1.0")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let output = try run(
            try binary,
            ["run", "--config_file_path", config, "--experiments_root_path", root + "/exp", "--error_log_folder", root + "/errors"],
            expectedStatus: 2)
        #expect(output.contains("max_norm must be greater than 0"))
        let logs = try FileManager.default.contentsOfDirectory(atPath: root + "/errors")
        #expect(logs.count == 1 && logs.allSatisfy { $0.hasPrefix("error_logs_") && $0.hasSuffix(".log") })
        #expect(!FileManager.default.fileExists(atPath: root + "/exp"))
    }

    @Test(.disabled(if: CUDA.driverNodeExists, "this machine has an NVIDIA driver: --device cuda may train on it"))
    func askingForAGPUWithoutOneFailsBeforeAnythingIsWritten() throws {
        let root = try temporaryFolder()
        let output = try run(
            try binary, ["run", "--config_file_path", Self.runConfig, "--experiments_root_path", root + "/exp", "--device", "cuda"],
            expectedStatus: 1)
        #expect(output.contains("--device cuda") && output.contains("libtorch_cuda.so"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: root + "/exp"))
    }

    @Test func experimentIDsFollowModalities() {
        let date = Date(timeIntervalSince1970: 0)
        let id = ExperimentID.make(configFilePath: "configs/run.yaml", date: date)
        #expect(id.count == "1970-01-01__00-00-00".count + 17)
        // sha256("configs/run.yaml") starts with these 16 hex digits (checked with Python's hashlib).
        #expect(id.hasSuffix("_d253e4e5e9d62fee"))
    }

    // MARK: Processes

    func start(_ binary: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @discardableResult
    func run(_ binary: String, _ arguments: [String], expectedStatus: Int32 = 0) throws -> String {
        let (status, output) = try Subprocess.run(binary, arguments, environment: environment)
        #expect(status == expectedStatus, "\(arguments.first ?? "") exited with \(status):\n\(output.suffix(2000))")
        return output
    }
}
