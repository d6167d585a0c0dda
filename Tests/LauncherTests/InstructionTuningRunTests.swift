import DataFormats
import DataLoading
import Foundation
import TestSupport
import Testing
import Torch

/// Modalities' instruction-tuning test end to end on CPU ranks, from a copy of the repository's layout: its data
/// config prepared by `data prepare_instruction_tuning_data` (files checked against what Modalities 0.5.0 writes),
/// the masked targets checked against Modalities' collator on the same packed samples, then its training config
/// fine-tuned on one and on two ranks. Goldens: `scripts/instruction-tuning-modalities-reference.py`, run with
/// Modalities installed in a venv.
@Suite(.serialized) struct InstructionTuningRunTests {
    static let dataConfig = "tests/instruction_tuning/files/apply_chat_template_config.yaml"

    struct Reference: Decodable {
        struct File: Decodable {
            let sha256: String?
            let token_bytes_sha256: String?
        }
        let folder: String
        let files: [String: File]
        let begin_marker_id: Int
        let end_marker_id: Int
        let test_samples: Int
        let kept_target_runs: [[[Int]]]
        let kept_targets: Int
    }

    static func reference() throws -> Reference {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Golden/instruction_tuning_reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// A scratch copy of the repository's `tests` and `data` folders (the configs' relative paths resolve in it).
    static func workingCopy() throws -> String {
        let source = ModalitiesRepositoryConfigTests.repository
        let copy = NSTemporaryDirectory() + "instruction-tuning-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for folder in ["tests", "data"] {
            try FileManager.default.copyItem(atPath: source + "/" + folder, toPath: copy + "/" + folder)
        }
        return copy
    }

    /// Runs `prepare_instruction_tuning_data` on Modalities' test config in `folder`; returns the output folder.
    static func prepare(in folder: String) throws -> String {
        let (status, output) = try Subprocess.run(
            try TrainingJobTests().binary, ["data", "prepare_instruction_tuning_data", "--config_file_path", dataConfig], in: folder)
        #expect(status == 0, "\(output.suffix(2000))")
        return folder + "/tests/instruction_tuning/files/out_files/" + (try reference().folder)
    }

    /// Every target position the masking collator keeps, as [start, end) runs per row.
    static func keptRuns(_ targets: [Int], rowLength: Int) -> [[[Int]]] {
        stride(from: 0, to: targets.count, by: rowLength).map { start in
            var runs: [[Int]] = []
            var open: Int?
            for i in 0...rowLength {
                let keep = i < rowLength && targets[start + i] != -100
                if keep, open == nil { open = i }
                if !keep, let s = open {
                    runs.append([s, i])
                    open = nil
                }
            }
            return runs
        }
    }

    @Test func preparedDataAndMaskedTargetsMatchModalities() throws {
        let reference = try Self.reference()
        let folder = try Self.workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let output = try Self.prepare(in: folder)
        for (name, expected) in reference.files {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: output + "/" + name)))
            if let sha = expected.sha256 { #expect(SHA256.hex(bytes) == sha, "\(name)") }
            if let sha = expected.token_bytes_sha256 {
                // The token section of the .pbin: its length is the header's first 8 bytes (little endian).
                let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                #expect(SHA256.hex(Array(bytes[10..<(10 + length)])) == sha, "\(name)")
            }
        }
        let testFile = try #require(
            try FileManager.default.contentsOfDirectory(atPath: output).first { $0.hasSuffix(".pbin") && $0.contains("_test.") })
        let dataset = try PackedContinuousDataset(
            path: output + "/" + testFile, sequenceLength: 2048, sampleKey: "input_ids", reuseLastTarget: false)
        #expect(dataset.count == reference.test_samples)
        let collator = try LossMaskingCollator(
            wrapping: GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids"), targetKeys: ["target_ids"], lossIgnoreIndex: -100,
            beginMarker: reference.begin_marker_id, endMarker: reference.end_marker_id, warn: { _ in })
        let batch = try collator.collate((0..<dataset.count).map { try dataset.sample(at: $0) })
        let targets = try #require(batch.targets["target_ids"]).toArray(Int.self)
        #expect(Self.keptRuns(targets, rowLength: 2047) == reference.kept_target_runs)
        #expect(targets.filter { $0 != -100 }.count == reference.kept_targets)
    }

    /// Modalities' training config for this test with its data paths set (it says "will be overridden in the test")
    /// and, since its Qwen2.5 hub model cannot be fetched here, a small GPT-2 of the repository's own FSDP2 config
    /// for the GPT-2 tokenizer the data was packed with.
    static func trainingConfig(in folder: String, output: String) throws -> String {
        let repository = ModalitiesRepositoryConfigTests.repository
        let original = try String(
            contentsOfFile: folder + "/tests/instruction_tuning/files/instruction_tune_model_config.yaml", encoding: .utf8)
        let fsdp2 = try String(contentsOfFile: repository + "/config_files/training/config_lorem_ipsum_long_fsdp2.yaml", encoding: .utf8)
        let files = try FileManager.default.contentsOfDirectory(atPath: output)
        let train = try #require(files.first { $0.hasSuffix(".pbin") && $0.contains("_train.") })
        let test = try #require(files.first { $0.hasSuffix(".pbin") && $0.contains("_test.") })
        var config = try removingTopLevelBlocks(["wrapped_model", "model_raw"], from: original)
            .replacingOccurrences(of: "\"replace by train temp path\"", with: output + "/" + train)
            .replacingOccurrences(of: "\"replace by test temp path\"", with: output + "/" + test)
            // A learning rate that moves a from-scratch model within the few steps a test can afford, and an
            // evaluation and checkpoint at step 4 instead of 10.
            .replacingOccurrences(of: "    max_lr: 6e-4\n", with: "    max_lr: 1e-2\n")
            .replacingOccurrences(of: "    checkpointing_interval_in_steps: 10\n", with: "    checkpointing_interval_in_steps: 4\n")
            .replacingOccurrences(of: "    evaluation_interval_in_steps: 10\n", with: "    evaluation_interval_in_steps: 4\n")
        let model = try topLevelBlocks(["initialized_model", "fsdp_model", "model_raw"], of: fsdp2)
            .replacingOccurrences(of: "initialized_model:\n", with: "wrapped_model:\n")
            .replacingOccurrences(of: "    n_embd: 128\n", with: "    n_embd: 32\n")
            .replacingOccurrences(of: "    ffn_hidden: 128\n", with: "    ffn_hidden: 64\n")
        config += "\n" + model
        #expect(config.contains("n_embd: 32") && config.contains("max_lr: 1e-2") && config.contains("evaluation_interval_in_steps: 4"))
        #expect(config.contains("wrapped_model:\n") && !config.contains("Qwen"))
        return config
    }

    static func topLevelBlocks(_ names: [String], of text: String) throws -> String {
        var blocks: [String] = []
        var current: [Substring]?
        var currentName = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first.isLetter, line.hasSuffix(":") || line.contains(": ") || line.last == ":" {
                if let current, names.contains(currentName) { blocks.append(current.joined(separator: "\n")) }
                currentName = String(line.prefix { $0 != ":" })
                current = [line]
            } else {
                current?.append(line)
            }
        }
        if let current, names.contains(currentName) { blocks.append(current.joined(separator: "\n")) }
        try #require(blocks.count == names.count, "found \(blocks.count) of \(names)")
        return blocks.joined(separator: "\n") + "\n"
    }

    static func removingTopLevelBlocks(_ names: [String], from text: String) throws -> String {
        var kept: [Substring] = []
        var skipping = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first.isLetter { skipping = names.contains(String(line.prefix { $0 != ":" })) }
            if !skipping { kept.append(line) }
        }
        return kept.joined(separator: "\n")
    }

    @Test func fineTunesOnOneAndTwoRanksWithTheMaskedLoss() throws {
        let folder = try Self.workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let output = try Self.prepare(in: folder)
        let config = folder + "/instruct.yaml"
        try Self.trainingConfig(in: folder, output: output).write(toFile: config, atomically: true, encoding: .utf8)
        let runner = ModalitiesRepositoryRunTests()
        // 40 packed conversations of 2048 tokens; one rank × micro batch 1 × 2 accumulation steps: 20 steps.
        let (one, oneOutput) = try runner.modalities(
            [
                "run", "--config_file_path", "instruct.yaml", "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps",
                "4",
            ],
            in: folder)
        #expect(one.keys.sorted() == Array(1...4))
        // Two ranks: 10 steps; the first 4, with the evaluation and checkpoint of step 4.
        let (two, twoOutput) = try runner.modalities(
            [
                "launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--", "run", "--config_file_path",
                "instruct.yaml", "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps", "4",
            ], in: folder)
        #expect(two.keys.sorted() == Array(1...4))
        for losses in [one, two] {
            let first = try #require(losses[1])
            let last = try #require(losses[4])
            // ln(50304) ≈ 10.83 at the start; 4 steps at this learning rate took it to about 10.2 (2-core CPU, 2026-12):
            // a drop of 0.3 leaves room for another BLAS's rounding.
            #expect(last < first - 0.3, "the masked loss falls: \(losses.sorted { $0.key < $1.key })")
        }
        #expect(twoOutput.contains("[rank 0] test step: 4 | CLMCrossEntropyLoss: "), "\(twoOutput.suffix(1500))")
        // The masked loss reports how many targets it counted (over all ranks) and how many were masked: of each
        // step's 2047 targets per sequence (2 per rank: 2 accumulation steps of 1), the assistant answers only.
        for (ranks, output) in [(1, oneOutput), (2, twoOutput)] {
            let counts = Self.maskedTargetCounts(in: output)
            #expect(counts.count == 4 && counts.allSatisfy { $0.counted > 0 && $0.masked > $0.counted }, "\(counts)")
            #expect(counts.allSatisfy { $0.counted + $0.masked == ranks * 2 * 2047 }, "\(ranks) rank(s): \(counts)")
        }
    }

    /// `loss target tokens` and `masked target tokens` of each training step rank 0 logged.
    static func maskedTargetCounts(in output: String) -> [(counted: Int, masked: Int)] {
        output.split(separator: "\n").filter { $0.hasPrefix("[rank 0] train step: ") }.compactMap { line in
            let fields = Dictionary(
                line.split(separator: "|").compactMap { field -> (String, String)? in
                    let parts = field.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    return parts.count == 2 ? (parts[0], parts[1]) : nil
                }, uniquingKeysWith: { $1 })
            guard let counted = fields["loss target tokens"].flatMap({ Int($0) }),
                let masked = fields["masked target tokens"].flatMap({ Int($0) })
            else { return nil }
            return (counted, masked)
        }
    }

    /// After fine-tuning: the checkpoint exported to Hugging Face (`convert_to_hf`), text generated from that folder
    /// through the tutorial's `text_generation_config.yaml` (its prompt template, stopping at its end token), and
    /// Modalities' instruct config fine-tuning that Hugging Face model itself (`model/huggingface_pretrained_model`
    /// under FSDP2 with the masked loss, as it ships for Qwen2.5) before being exported again.
    @Test func aFineTunedModelExportsGeneratesAndFineTunesFromHuggingFace() throws {
        let folder = try Self.workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let output = try Self.prepare(in: folder)
        // The test's GPT-2 in Llama form (no biases, RMSNorm), which a Hugging Face LlamaForCausalLM can hold.
        let layerNorm = """
                  norm_type: layer_norm
                  config:
                    normalized_shape: ${model_raw.config.n_embd}
                    eps: 1e-5
            """
        let rmsNorm = """
                  norm_type: rms_norm
                  config:
                    ndim: ${model_raw.config.n_embd}
                    epsilon: 1e-5
                    bias: false
            """
        let base = try Self.trainingConfig(in: folder, output: output)
        let llama = base.replacingOccurrences(of: layerNorm, with: rmsNorm)
            .replacingOccurrences(
                of: "    bias: true # True: bias in Linears and LayerNorms, like GPT-2. False: a bit better and faster",
                with: "    bias: false"
            )
            // A checkpoint after 2 steps is enough to export.
            .replacingOccurrences(of: "    checkpointing_interval_in_steps: 4\n", with: "    checkpointing_interval_in_steps: 2\n")
            .replacingOccurrences(of: "    evaluation_interval_in_steps: 4\n", with: "    evaluation_interval_in_steps: 2\n")
        #expect(llama.components(separatedBy: "norm_type: rms_norm").count == 4 && llama.contains("    bias: false\n"))
        try llama.write(toFile: folder + "/instruct.yaml", atomically: true, encoding: .utf8)
        let runner = ModalitiesRepositoryRunTests()
        _ = try runner.modalities(
            [
                "run", "--config_file_path", "instruct.yaml", "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps",
                "2",
            ],
            in: folder)
        let checkpoint = try Self.lastCheckpoint(under: folder)
        _ = try runner.modalities(
            ["convert_to_hf", "--checkpoint", checkpoint, "--output", "hf_model", "--tokenizer", "data/tokenizer/hf_gpt2"], in: folder)

        // The tutorial's generation config, pointed at the exported folder and the local GPT-2 tokenizer.
        let tutorial = ModalitiesRepositoryConfigTests.repository + "/tutorials/instruction_tuning/configs/text_generation_config.yaml"
        let generation = try String(contentsOfFile: tutorial, encoding: .utf8)
            .replacingOccurrences(of: "model_name: Qwen/Qwen2.5-0.5B", with: "model_name: hf_model")
            .replacingOccurrences(
                of: "pretrained_model_name_or_path: Qwen/Qwen2.5-0.5B", with: "pretrained_model_name_or_path: data/tokenizer/hf_gpt2"
            )
            .replacingOccurrences(of: "  device: 0\n", with: "  device: cpu\n")
            .replacingOccurrences(of: "  sequence_length: 8192\n", with: "  sequence_length: 96\n")
        #expect(!generation.contains("Qwen"))
        try generation.write(toFile: folder + "/generate.yaml", atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        for name in ["RANK", "LOCAL_RANK", "WORLD_SIZE"] { environment[name] = nil }
        let (status, generated) = try Subprocess.run(
            try TrainingJobTests().binary, ["generate_text", "--config_file_path", "generate.yaml"], in: folder, environment: environment,
            input: "What is lorem ipsum?\n")
        #expect(status == 0, "\(generated.suffix(2000))")
        #expect(
            generated.contains("prompt_input: ") && generated.contains("--------------------OUTPUT--------------------"), "\(generated)")

        // Modalities' own instruct config, its Hugging Face model blocks kept, the model being the exported folder.
        let original = try String(
            contentsOfFile: folder + "/tests/instruction_tuning/files/instruction_tune_model_config.yaml", encoding: .utf8)
        let files = try FileManager.default.contentsOfDirectory(atPath: output)
        let train = try #require(files.first { $0.hasSuffix(".pbin") && $0.contains("_train.") })
        let test = try #require(files.first { $0.hasSuffix(".pbin") && $0.contains("_test.") })
        let huggingFace =
            original
            .replacingOccurrences(of: "\"replace by train temp path\"", with: output + "/" + train)
            .replacingOccurrences(of: "\"replace by test temp path\"", with: output + "/" + test)
            .replacingOccurrences(of: "model_name: Qwen/Qwen2.5-0.5B", with: "model_name: hf_model")
            // FSDP's unit is the model's decoder layer, named by its transformers class as for Qwen2.
            .replacingOccurrences(of: "block_names: [Qwen2DecoderLayer]", with: "block_names: [LlamaDecoderLayer]")
            .replacingOccurrences(of: "    checkpointing_interval_in_steps: 10\n", with: "    checkpointing_interval_in_steps: 2\n")
            .replacingOccurrences(of: "    evaluation_interval_in_steps: 10\n", with: "    evaluation_interval_in_steps: 2\n")
        #expect(!huggingFace.contains("Qwen/"))
        try huggingFace.write(toFile: folder + "/instruct_hf.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: folder + "/runs")
        let (losses, tuned) = try runner.modalities(
            [
                "run", "--config_file_path", "instruct_hf.yaml", "--experiments_root_path", "runs", "--device", "cpu", "--stop_after_steps",
                "2",
            ],
            in: folder)
        #expect(losses.keys.sorted() == [1, 2] && losses.values.allSatisfy { $0.isFinite }, "\(losses)")
        let counts = Self.maskedTargetCounts(in: tuned)
        #expect(counts.count == 2 && counts.allSatisfy { $0.counted > 0 && $0.masked > $0.counted }, "\(counts)")
        _ = try runner.modalities(
            [
                "convert_to_hf", "--checkpoint", try Self.lastCheckpoint(under: folder), "--output", "hf_tuned", "--tokenizer",
                "data/tokenizer/hf_gpt2",
            ],
            in: folder)
        #expect(FileManager.default.fileExists(atPath: folder + "/hf_tuned/config.json"))
    }

    /// The checkpoint folder the newest `last_checkpoint_info.json` under `folder` names.
    static func lastCheckpoint(under folder: String) throws -> String {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var newest: (Date, String)?
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix("last_checkpoint_info.json") else { continue }
            let full = folder + "/" + path
            let date = (try FileManager.default.attributesOfItem(atPath: full)[.modificationDate] as? Date) ?? .distantPast
            if newest == nil || date > newest!.0 { newest = (date, full) }
        }
        let info = try #require(newest?.1, "no last_checkpoint_info.json under \(folder)")
        let paths = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: String])
        return try #require(paths["checkpoint_folder_path"], "\(paths)")
    }
}
