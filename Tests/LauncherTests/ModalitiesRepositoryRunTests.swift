import Foundation
import TestSupport
import Testing

/// Modalities main's reference training configs trained for real on CPU ranks, unedited, from a copy of the
/// repository's layout (so their relative paths `./data/...` and `data/checkpoints` resolve as in Modalities, and the
/// shared folder is never written): the first 32 steps (`--stop_after_steps`, their checkpointing interval), then
/// their warmstart config from the checkpoint that wrote.
@Suite(.serialized) struct ModalitiesRepositoryRunTests {
    /// A scratch copy of the repository's configs and data.
    func workingCopy() throws -> String {
        let source = try #require(
            FileManager.default.fileExists(atPath: ModalitiesRepositoryConfigTests.repository)
                ? ModalitiesRepositoryConfigTests.repository : nil,
            "needs \(ModalitiesRepositoryConfigTests.repository)")
        let copy = NSTemporaryDirectory() + "modalities-run-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for folder in ["config_files", "data"] {
            try FileManager.default.copyItem(atPath: source + "/" + folder, toPath: copy + "/" + folder)
        }
        return copy
    }

    /// Runs the binary in `folder`; returns rank 0's training losses by step and the whole output.
    func modalities(_ arguments: [String], in folder: String) throws -> (losses: [Int: Double], output: String) {
        var environment = ProcessInfo.processInfo.environment
        for name in ["RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"] { environment[name] = nil }
        let (status, output) = try Subprocess.run(try TrainingJobTests().binary, arguments, in: folder, environment: environment)
        #expect(status == 0, "\(arguments.prefix(6).joined(separator: " ")):\n\(output.suffix(3000))")
        var losses: [Int: Double] = [:]
        // "[rank 0] train step: 33 | train loss avg: 6.097 | ..."
        for line in output.split(separator: "\n") where line.hasPrefix("[rank 0] train step: ") {
            let fields = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let step = Int(fields[0].split(separator: " ").last ?? ""),
                let loss = fields.first(where: { $0.hasPrefix("train loss avg: ") }).flatMap({
                    Double($0.dropFirst("train loss avg: ".count))
                })
            else { continue }
            losses[step] = loss
        }
        return (losses, output)
    }

    /// FSDP1 on two ranks, then its warmstart config on two ranks from the .bin files it wrote: the curve continues.
    @Test func fsdp1OnTwoRanksThenItsWarmstart() throws {
        let folder = try workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let port = DistributedLaunchTests.port()
        // Modalities' --test_comm checks the collectives first.
        let (first, firstOutput) = try modalities(
            [
                "launch", "--nproc_per_node", "2", "--master_port", port, "--", "run", "--config_file_path",
                "config_files/training/config_lorem_ipsum_long_fsdp1.yaml", "--experiments_root_path", "runs",
                "--device", "cpu", "--stop_after_steps", "32", "--test_comm",
            ], in: folder)
        #expect(first.keys.sorted() == Array(1...32))
        #expect(firstOutput.contains("communication test succeeded (2 ranks)"))
        let info = folder + "/data/checkpoints/last_checkpoint_info.json"
        let paths = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: String])
        #expect(
            paths["model_checkpoint_path"]?.hasSuffix("-model-seen_steps_32-seen_tokens_32768-target_steps_325-target_tokens_332800.bin")
                == true)
        let (continued, _) = try modalities(
            [
                "launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--", "warmstart",
                "--config_file_path", "config_files/training/config_lorem_ipsum_long_fsdp1_warmstart.yaml",
                "--experiments_root_path", "runs", "--last_checkpoint_info_file_path", info, "--device", "cpu",
                "--stop_after_steps", "4",
            ], in: folder)
        #expect(continued.keys.sorted() == Array(33...36))
        expectContinuation(first, continued)
    }

    /// FSDP2 on one rank, its device_mesh saying cuda on a machine trained on the CPU with one warning; then on two.
    @Test func fsdp2OnOneAndTwoRanks() throws {
        let folder = try workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (one, output) = try modalities(
            [
                "run", "--config_file_path", "config_files/training/config_lorem_ipsum_long_fsdp2.yaml",
                "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps", "32",
            ], in: folder)
        #expect(one.keys.sorted() == Array(1...32))
        #expect(output.components(separatedBy: "device_mesh.device_type is cuda").count == 2, "one warning line")
        #expect(one[32]! < one[1]! - 1, "\(one[1]!) -> \(one[32]!)")
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: folder + "/data/checkpoints")
        #expect(checkpoints.contains { $0.hasSuffix("-seen_steps_32-seen_tokens_8192-target_steps_1300-target_tokens_332800") })
        try FileManager.default.removeItem(atPath: folder + "/data/checkpoints")
        let (two, _) = try modalities(
            [
                "launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--", "run",
                "--config_file_path", "config_files/training/config_lorem_ipsum_long_fsdp2.yaml",
                "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps", "8",
            ], in: folder)
        #expect(two.keys.sorted() == Array(1...8))
        #expect(two[8]! < two[1]! - 0.5, "\(two[1]!) -> \(two[8]!)")
    }

    /// FSDP2's warmstart config trains four shards of 2 × 256 tokens (2048 per step) and enforces tokens-per-step
    /// consistency, so the checkpoint it continues must come from a run with 2048 tokens per step: the FSDP2 config on
    /// eight ranks. Its DCP folder, written by eight ranks, is read by four.
    @Test func fsdp2OnEightRanksThenItsWarmstartOnFour() throws {
        let folder = try workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (first, _) = try modalities(
            [
                "launch", "--nproc_per_node", "8", "--master_port", DistributedLaunchTests.port(), "--", "run",
                "--config_file_path", "config_files/training/config_lorem_ipsum_long_fsdp2.yaml",
                "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps", "32",
            ], in: folder)
        #expect(first.keys.sorted() == Array(1...32))
        let info = folder + "/data/checkpoints/last_checkpoint_info.json"
        let (continued, _) = try modalities(
            [
                "launch", "--nproc_per_node", "4", "--master_port", DistributedLaunchTests.port(), "--", "warmstart",
                "--config_file_path", "config_files/training/config_lorem_ipsum_long_fsdp2_warmstart.yaml",
                "--experiments_root_path", "runs", "--last_checkpoint_info_file_path", info, "--device", "cpu",
                "--stop_after_steps", "4",
            ], in: folder)
        #expect(continued.keys.sorted() == Array(33...36))
        expectContinuation(first, continued)
    }

    /// Modalities' PP × TP reference config, unedited, on four ranks: two pipeline stages (GPipe, two micro batches)
    /// of two tensor-parallel ranks each, FSDP2 with bf16 parameters around each stage's part; evaluation at step 15
    /// runs forward through the pipeline.
    @Test func pipelineAndTensorParallelOnFourRanks() throws {
        let folder = try workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (losses, output) = try modalities(
            [
                "launch", "--nproc_per_node", "4", "--master_port", DistributedLaunchTests.port(), "--", "run",
                "--config_file_path", "config_files/training/config_lorem_ipsum_long_fsdp2_pp_tp.yaml",
                "--experiments_root_path", "runs", "--device", "cpu",
            ], in: folder)
        // Logged every second step, to the target of 20.
        #expect(losses.keys.sorted() == Array(stride(from: 2, through: 20, by: 2)))
        #expect(losses[20]! < losses[2]! - 1, "\(losses[2]!) -> \(losses[20]!)")
        #expect(output.contains("[rank 0] test step: 15"))
    }

    /// Modalities' PP reference config, unedited, on four ranks: four pipeline stages (embeddings and block 0, blocks
    /// 1–2, 3–4, block 5 and the head) under Interleaved1F1B with two micro batches, its `settings.debugging` hooks on
    /// every module (the NaN check raising, the shapes printed).
    @Test func pipelineOnFourRanksWithItsDebuggingHooks() throws {
        let folder = try workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (losses, output) = try modalities(
            [
                "launch", "--nproc_per_node", "4", "--master_port", DistributedLaunchTests.port(), "--", "run",
                "--config_file_path", "config_files/training/config_lorem_ipsum_long_fsdp2_pp.yaml",
                "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps", "3",
            ], in: folder)
        #expect(losses.keys.sorted() == [1, 2, 3])
        #expect(losses[3]! < losses[1]!, "\(losses)")
        // print_forward_hook with print_shape_only: each stage's modules, micro batches of 2 × 256 tokens of width 128.
        #expect(output.contains("Module: GPT2Block, Path: transformer.h.0, Input shapes: [[2, 256, 128]], Output shapes: [[2, 256, 128]]"))
        #expect(
            output.contains("Module: Linear, Path: transformer.lm_head, Input shapes: [[2, 256, 128]], Output shapes: [[2, 256, 50304]]"))
    }

    /// A warmstart continues the curve: its first steps lie near where the first run ended (the same model and optimizer
    /// state, the next batches), far below where it began.
    func expectContinuation(_ first: [Int: Double], _ continued: [Int: Double]) {
        guard let start = first[1], let end = first[first.keys.max() ?? 0], let resumed = continued[continued.keys.min() ?? 0] else {
            Issue.record("no losses to compare")
            return
        }
        #expect(end < start - 1, "the first run learned: \(start) -> \(end)")
        #expect(Swift.abs(resumed - end) < 0.5, "the warmstart resumes near \(end), at \(resumed)")
    }
}
