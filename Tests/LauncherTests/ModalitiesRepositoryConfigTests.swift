import Foundation
import TestSupport
import Testing

/// Every config Modalities main ships (`modalities-repo/`: its reference configs, each tutorial's configs, the
/// instruction-tuning test files), checked as a Modalities user would: the command each is for, from the folder its
/// README runs it in, unedited. Each validates, or fails only for a reason listed here: a component later work builds
/// ("not available yet: it needs …"), data the tutorial prepares in an earlier step, a component the tutorial
/// registers from Python, or a config Modalities main rejects as well. A later issue turns its entries to `.valid`.
@Suite struct ModalitiesRepositoryConfigTests {
    static let repository = TestData.path("modalities-repo")

    /// What checking a config must give.
    enum Expectation: Sendable {
        case valid
        /// Exit status 2, and every error line contains one of these.
        case fails([String])
        /// No command here checks it yet; the reason says what is missing.
        case noCommandYet(String)
    }

    struct Case: Sendable, CustomStringConvertible {
        var path: String
        /// The folder the command runs in, relative to the repository (a tutorial's own folder).
        var folder = "."
        /// `config validate` for this command, or `prepare_sweep_configs` for a sweep.
        var command: String
        var worldSize = 1
        /// For warmstart configs: the `last_checkpoint_info.json` content a run would have left.
        var checkpointInfo: [String: String]?
        var expectation: Expectation

        var description: String { path }
    }

    /// The instruction-tuning tutorial's 10K smol-smoltalk conversations (not shipped: over 4 MB).
    static let instructionTuningData = "smol-smoltalk_train_first_10K.jsonl"
    /// The getting_started tutorial packs it from a RedPajama sample in its first step (not shipped: over 4 MB).
    static let gettingStartedData = "redpajama_v2_samples_512_train.pbin"

    static let cases: [Case] = [
        Case(path: "config_files/data_preparation/packed_cc_en_2048.yaml", command: "pack_encoded_data", expectation: .valid),
        Case(path: "config_files/data_preparation/packed_dataset_config.yaml", command: "pack_encoded_data", expectation: .valid),
        Case(path: "config_files/training/config_example_coca.yaml", command: "run", expectation: .valid),
        Case(path: "config_files/training/config_lorem_ipsum_long_fsdp1.yaml", command: "run", worldSize: 2, expectation: .valid),
        Case(
            path: "config_files/training/config_lorem_ipsum_long_fsdp1_warmstart.yaml", command: "warmstart", worldSize: 2,
            checkpointInfo: [
                "model_checkpoint_path": "ckpt/eid_x-model-seen_steps_32-seen_tokens_32768-target_steps_650-target_tokens_665600.bin",
                "optimizer_checkpoint_path":
                    "ckpt/eid_x-optimizer-seen_steps_32-seen_tokens_32768-target_steps_650-target_tokens_665600.bin",
            ], expectation: .valid),
        Case(path: "config_files/training/config_lorem_ipsum_long_fsdp2.yaml", command: "run", expectation: .valid),
        Case(
            path: "config_files/training/config_lorem_ipsum_long_fsdp2_pp.yaml", command: "run", worldSize: 8,
            expectation: .valid),
        Case(path: "config_files/training/config_lorem_ipsum_long_fsdp2_pp_tp.yaml", command: "run", worldSize: 8, expectation: .valid),
        // Four data-parallel shards, 2 × 256 tokens each per step: 2048 tokens per step.
        Case(
            path: "config_files/training/config_lorem_ipsum_long_fsdp2_warmstart.yaml", command: "warmstart", worldSize: 4,
            checkpointInfo: ["checkpoint_folder_path": "ckpt/eid_x-seen_steps_32-seen_tokens_65536-target_steps_325-target_tokens_665600"],
            expectation: .valid),
        Case(
            path: "tests/instruction_tuning/files/apply_chat_template_config.yaml", command: "prepare_instruction_tuning_data",
            expectation: .valid),
        // Modalities' own test writes the dataset path in place of its placeholder.
        Case(
            path: "tests/instruction_tuning/files/instruction_tune_model_config.yaml", command: "run",
            expectation: .fails(["replace by train temp path"])),
        Case(path: "tests/instruction_tuning/files/packed_chat_dataset_config.yaml", command: "pack_encoded_data", expectation: .valid),
        // The model and its collator are registered from Python by the tutorial's own script.
        Case(
            path: "tutorials/einsum_transformer/einsum_transformer_config.yaml", folder: "tutorials/einsum_transformer", command: "run",
            expectation: .fails(["it needs compiled models", "'einsum_transformer'", gettingStartedData])),
        Case(
            path: "tutorials/getting_started/configs/example_config.yaml", folder: "tutorials/getting_started", command: "run",
            expectation: .fails([gettingStartedData])),
        Case(
            path: "tutorials/getting_started/configs/example_conversion_config_template.yaml", folder: "tutorials/getting_started",
            command: "convert_pytorch_to_hf_checkpoint",
            expectation: .noCommandYet("a template: Modalities appends it to example_config.yaml with <CHECKPOINT_PATH> filled in")),
        Case(
            path: "tutorials/getting_started/configs/example_dataset_config_test.yaml", folder: "tutorials/getting_started",
            command: "pack_encoded_data", expectation: .valid),
        Case(
            path: "tutorials/getting_started/configs/example_dataset_config_train.yaml", folder: "tutorials/getting_started",
            command: "pack_encoded_data", expectation: .valid),
        Case(
            path: "tutorials/getting_started/configs/example_text_generation_config.yaml", folder: "tutorials/getting_started",
            command: "generate_text", expectation: .valid),
        Case(
            path: "tutorials/instruction_tuning/configs/apply_chat_template_config.yaml", folder: "tutorials/instruction_tuning",
            command: "prepare_instruction_tuning_data", expectation: .fails([instructionTuningData])),
        Case(
            path: "tutorials/instruction_tuning/configs/packed_chat_dataset_config.yaml", folder: "tutorials/instruction_tuning",
            command: "pack_encoded_data", expectation: .valid),
        // prepared_data/ is what the tutorial's apply_chat_template step writes.
        Case(
            path: "tutorials/instruction_tuning/configs/small_train_instruct_model_fsdp2_config.yaml",
            folder: "tutorials/instruction_tuning",
            command: "run", worldSize: 2, expectation: .fails(["prepared_data/"])),
        Case(
            path: "tutorials/instruction_tuning/configs/text_generation_config.yaml", folder: "tutorials/instruction_tuning",
            command: "generate_text", expectation: .valid),
        Case(
            path: "tutorials/instruction_tuning/configs/train_instruct_model_fsdp2_config.yaml", folder: "tutorials/instruction_tuning",
            command: "run", expectation: .fails(["prepared_data/"])),
        // The collator is registered from Python by the tutorial's main.py.
        Case(
            path: "tutorials/library_usage/config_lorem_ipsum.yaml", folder: "tutorials/library_usage", command: "run",
            expectation: .fails(["'custom_gpt_2_llm_collator'"])),
        // Written for a Modalities older than 0.3 (model/fsdp_wrapped, gradient_clipper/fsdp, no app_state, no
        // use_weight_tying): Modalities main rejects it too. Its data is made by the notebook's earlier cells.
        Case(
            path: "tutorials/modalities_in_15_mins/configs/pretraining_config.yaml", folder: "tutorials/modalities_in_15_mins",
            command: "run",
            expectation: .fails([
                "'app_state'", "'fsdp_wrapped'", "'use_weight_tying'", "'fsdp' for component_key 'gradient_clipper'",
                "fineweb_edu_num_docs_483606.pbin",
            ])),
        Case(
            path: "tutorials/modalities_in_15_mins/configs/tokenization_config.yaml", folder: "tutorials/modalities_in_15_mins",
            command: "pack_encoded_data", expectation: .valid),
        Case(
            path: "tutorials/profiling/configs/distributed_8B_model_profiling.yaml", folder: "tutorials/profiling",
            command: "profile", expectation: .valid),
        Case(
            path: "tutorials/profiling/configs/single_process_rms_norm_profiling.yaml", folder: "tutorials/profiling",
            command: "profile", expectation: .valid),
        Case(
            path: "tutorials/scaling_up/configs/sweep_config.yaml", folder: "tutorials/scaling_up", command: "prepare_sweep_configs",
            expectation: .valid),
        // Its lorem ipsum stand-in holds fewer tokens than the 8B benchmark's target; Modalities main refuses that too
        // (enforce_enough_tokens_in_dataset defaults to true).
        Case(
            path: "tutorials/scaling_up/configs/sweep_8B_fsdp2.yaml", folder: "tutorials/scaling_up", command: "prepare_sweep_configs",
            expectation: .fails(["not enough tokens in the training dataset"])),
        // The data comes from the modalities_in_15_mins tutorial's first steps.
        Case(
            path: "tutorials/warmstart/configs/pre_training_config.yaml", folder: "tutorials/warmstart", command: "run", worldSize: 2,
            expectation: .fails([gettingStartedData])),
        Case(
            path: "tutorials/warmstart/configs/tokenization_config_train.yaml", folder: "tutorials/warmstart", command: "pack_encoded_data",
            expectation: .valid),
        // Two ranks, 8 × 256 tokens each per step.
        Case(
            path: "tutorials/warmstart/configs/warmstart_config.yaml", folder: "tutorials/warmstart", command: "warmstart", worldSize: 2,
            checkpointInfo: ["checkpoint_folder_path": "ckpt/eid_x-seen_steps_10-seen_tokens_40960-target_steps_20-target_tokens_81920"],
            expectation: .fails([gettingStartedData])),
    ]

    /// A config added to the repository must be given its expectation here.
    @Test func everyConfigInTheRepositoryIsListed() throws {
        try #require(FileManager.default.fileExists(atPath: Self.repository), "needs \(Self.repository)")
        var found: [String] = []
        for folder in ["config_files", "tutorials", "tests"] {
            let enumerator = FileManager.default.enumerator(atPath: Self.repository + "/" + folder)
            while let file = enumerator?.nextObject() as? String {
                if file.hasSuffix(".yaml") || file.hasSuffix(".yml") { found.append(folder + "/" + file) }
            }
        }
        #expect(found.sorted() == Self.cases.map(\.path).sorted())
    }

    @Test(arguments: cases)
    func validatesOrFailsOnlyAsListed(_ entry: Case) throws {
        try #require(FileManager.default.fileExists(atPath: Self.repository), "needs \(Self.repository)")
        let binary = try TrainingJobTests().binary
        let scratch = NSTemporaryDirectory() + "modalities-repo-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let folder = URL(fileURLWithPath: Self.repository).appendingPathComponent(entry.folder).standardizedFileURL
        let file = URL(fileURLWithPath: Self.repository).appendingPathComponent(entry.path).standardizedFileURL.path
        let relative = String(file.dropFirst(folder.path.count + 1))
        var arguments: [String]
        switch entry.command {
        case "prepare_sweep_configs":
            arguments = ["benchmark", "prepare_sweep_configs", "--sweep_config_path", relative, "--output_dir", scratch + "/sweep"]
        case "run", "warmstart", "generate_text", "pack_encoded_data", "prepare_instruction_tuning_data", "profile":
            arguments = ["config", "validate", relative, "--for", entry.command, "--experiments_root_path", scratch + "/experiments"]
        default:
            guard case .noCommandYet(let reason) = entry.expectation else { Issue.record("no way to check \(entry.command)"); return }
            if reason.hasPrefix("a template") {
                #expect(
                    try String(contentsOfFile: file, encoding: .utf8).contains("<CHECKPOINT_PATH>"), "\(entry.path) is no longer a template"
                )
            } else {
                // When the command arrives, this entry must be checked with it instead.
                let words = entry.command.split(separator: " ").map(String.init)
                let (_, help) = try DistributedLaunchTests().launch(words.dropLast() + ["--help"])
                let listed = help.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.contains { line in
                    line == words.last! || line.hasPrefix(words.last! + " ") || line.hasPrefix(words.last! + ",")
                }
                #expect(!listed, "`modalities \(entry.command)` exists now: check \(entry.path) with it")
            }
            return
        }
        if let info = entry.checkpointInfo {
            let infoPath = scratch + "/last_checkpoint_info.json"
            try JSONSerialization.data(withJSONObject: info.mapValues { scratch + "/" + $0 }).write(to: URL(fileURLWithPath: infoPath))
            arguments += ["--last_checkpoint_info_file_path", infoPath]
        }
        var environment = ProcessInfo.processInfo.environment
        environment["WORLD_SIZE"] = String(entry.worldSize)
        environment["RANK"] = "0"
        environment["LOCAL_RANK"] = "0"
        let (status, output) = try Subprocess.run(binary, arguments, in: folder.path, environment: environment)
        let errors = output.split(separator: "\n").filter { $0.contains(": error: ") || $0.hasPrefix("Error:") }
        switch entry.expectation {
        case .valid:
            #expect(status == 0 && errors.isEmpty, "\(entry.path):\n\(output.suffix(3000))")
        case .fails(let reasons):
            #expect(status != 0, "\(entry.path) passed:\n\(output.suffix(3000))")
            let detailed = errors.filter { $0.contains(": error: ") }
            #expect(!detailed.isEmpty, "\(entry.path): no error lines:\n\(output.suffix(3000))")
            for line in detailed {
                #expect(reasons.contains { line.contains($0) }, "\(entry.path): an error not listed: \(line)")
            }
        case .noCommandYet:
            Issue.record("\(entry.path) has a command but is listed as having none")
        }
    }
}
