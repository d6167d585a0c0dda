import DataLoading
import Foundation
import TestSupport
import Testing

/// Modalities' `config_example_coca.yaml` trained unedited on CPU ranks, from a copy of the repository's layout, with
/// its sizes reduced by `--override`s only (224-pixel images, 12-layer encoders and 1024-token texts would take
/// minutes per step here): one rank, a warmstart from the checkpoint it wrote, and FSDP over two ranks.
@Suite(.serialized) struct CoCaRunTests {
    static let config = "config_files/training/config_example_coca.yaml"

    /// A small CoCa: 32-pixel images in 8-pixel patches, two blocks per stack, 64-wide, 64-token texts over Modalities'
    /// dummy vocabulary (ids below 512), 16 image queries; 4 samples per step on one rank.
    static let overrides: [String] = {
        let model = "model_raw.config"
        let vision = model + ".vision_encoder_config"
        let text = model + ".text_decoder_config"
        var values = [
            "\(vision).img_size=32", "\(vision).n_layer=2", "\(vision).n_embd=64", "\(vision).n_head=2", "\(vision).patch_size=8",
            "\(vision).patch_stride=8", "\(text).block_size=64", "\(text).vocab_size=512", "\(text).n_layer_text=2",
            "\(text).n_layer_multimodal_text=2", "\(text).n_head=2", "\(text).ffn_hidden=128", "\(text).n_embd=64",
            "\(model).n_vision_queries=16", "\(model).n_pool_head=2", "settings.step_profile.sequence_length=64",
            // Evaluation (16 batches each time) every 4 steps rather than 2.
            "settings.intervals.evaluation_interval_in_steps=4",
        ]
        for dataset in ["train_dataset", "val_dataset"] {
            values += [
                "\(dataset).config.sample_definition.0.sample_shape=[3,32,32]", "\(dataset).config.sample_definition.1.sample_shape=[64]",
            ]
        }
        return values.flatMap { ["--override", $0] }
    }()

    /// Rank 0's `train loss avg` and the evaluation loss by step.
    static func losses(_ output: String) -> (train: [Int: Double], validation: [Int: Double]) {
        var train: [Int: Double] = [:]
        var validation: [Int: Double] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let step = fields.first.flatMap({ Int($0.split(separator: " ").last ?? "") }) else { continue }
            if line.hasPrefix("[rank 0] train step: "),
                let loss = fields.first(where: { $0.hasPrefix("train loss avg: ") }).flatMap({ Double($0.dropFirst(16)) })
            {
                train[step] = loss
            } else if line.hasPrefix("[rank 0] val step: "),
                let loss = fields.first(where: { $0.hasPrefix("CLMCrossEntropyLoss: ") }).flatMap({ Double($0.dropFirst(21)) })
            {
                validation[step] = loss
            }
        }
        return (train, validation)
    }

    @Test func theExampleConfigTrainsWarmstartsAndShardsOverTwoRanks() throws {
        let runner = ModalitiesRepositoryRunTests()
        let folder = try runner.workingCopy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = ["--experiments_root_path", "runs", "--device", "cpu"] + Self.overrides

        // One rank, 4 samples per step: 64 samples in 16 steps, checkpoints every 2.
        let (_, output) = try runner.modalities(
            ["run", "--config_file_path", Self.config] + base + ["--override", "settings.step_profile.local_train_micro_batch_size=4"],
            in: folder)
        let single = Self.losses(output)
        #expect(single.train.keys.sorted() == Array(stride(from: 2, through: 16, by: 2)))
        // The dummy texts are uniform over 512 ids, so training cannot beat ln 512 on new samples; the evaluation set
        // draws the same seeded samples as the training set, so its loss falls as the model learns them.
        let validation = single.validation.sorted { $0.key < $1.key }.map(\.value)
        #expect(validation.count == 4 && validation.last! < validation.first! - 0.01, "evaluation losses \(validation)")
        #expect(abs(single.train[2]! - Foundation.log(512)) < 0.1, "a fresh CoCa predicts the 512 ids uniformly")
        let info = folder + "/data/checkpoints/last_checkpoint_info.json"
        let paths = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: String])
        #expect(paths["model_checkpoint_path"]?.hasSuffix("-model-seen_steps_16-seen_tokens_4096-target_steps_16-target_tokens_4096.bin") == true)

        // Warmstart from that checkpoint with 32 more samples: steps 17 to 24 continue the count and the schedule.
        let warmstart = folder + "/config_files/training/coca_warmstart.yaml"
        try FileManager.default.copyItem(
            atPath: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Configs/coca_warmstart.yaml").path,
            toPath: warmstart)
        let (_, continuedOutput) = try runner.modalities(
            ["warmstart", "--config_file_path", warmstart, "--last_checkpoint_info_file_path", info] + base + [
                "--override", "settings.step_profile.local_train_micro_batch_size=4",
                "--override", "settings.coca_example_settings.train_num_samples=96",
            ], in: folder)
        let continued = Self.losses(continuedOutput)
        #expect(continued.train.keys.sorted() == Array(stride(from: 18, through: 24, by: 2)))
        #expect(continuedOutput.contains("progress: 16 steps, 4096 tokens seen; 8 steps to go"))
        // The warm model keeps what it learned: evaluation starts where the first run ended, not at ln 512.
        #expect(abs(continued.validation[20]! - validation.last!) < 0.02, "\(continued.validation) after \(validation)")

        // Two ranks of 2 samples under FSDP (fsdp1_wrapped, FULL_SHARD over CoCa's blocks): the same global batches.
        try? FileManager.default.removeItem(atPath: folder + "/data/checkpoints")
        let (_, shardedOutput) = try runner.modalities(
            ["launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--", "run", "--config_file_path", Self.config]
                + base + ["--override", "settings.step_profile.local_train_micro_batch_size=2"],
            in: folder)
        let sharded = Self.losses(shardedOutput)
        #expect(sharded.train.keys.sorted() == single.train.keys.sorted())
        // FP_16 mixed precision: the two layouts sum the fp16 products in other orders; the printed 4 digits agree
        // to a few thousandths.
        for (step, loss) in single.train { #expect(abs(sharded.train[step]! - loss) < 5e-3, "step \(step): \(sharded.train[step]!) vs \(loss)") }
    }

    /// Examples/CoCaImages trains a tiny CoCa on generated PNG and JPEG images with their captions: 8 pictures (a
    /// colour and a shape each), each listed 12 times, 24 steps of 4. The captions are learnt: the loss falls from
    /// about ln 50304 to under a quarter of it (10.2 to 0.42 here).
    @Test func theImageExampleLearnsCaptionsOfGeneratedImages() throws {
        let folder = NSTemporaryDirectory() + "coca-images-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/data/images", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let colours: [(String, [UInt8])] = [("red", [220, 30, 30]), ("green", [30, 200, 40]), ("blue", [30, 40, 220]), ("yellow", [230, 220, 30])]
        var lines: [String] = []
        for (index, (name, colour)) in colours.enumerated() {
            for shape in ["square", "stripe"] {
                var pixels: [UInt8] = []
                for y in 0..<40 {
                    for x in 0..<40 {
                        let inside = shape == "square" ? (10..<30).contains(x) && (10..<30).contains(y) : (16..<24).contains(x)
                        pixels += inside ? colour : [250, 250, 250]
                    }
                }
                let image = try RGBImage(width: 40, height: 40, pixels: pixels)
                let file = "images/\(name)-\(shape)" + (index % 2 == 0 ? ".png" : ".jpg")
                try image.write(to: folder + "/data/" + file, format: index % 2 == 0 ? .png : .jpeg(quality: 92))
                lines += Array(repeating: "{\"image\": \"\(file)\", \"text\": \"a \(name) \(shape)\"}", count: 12)
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder + "/data/captions.jsonl", atomically: true, encoding: .utf8)
        let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/CoCaImages/coca_images.yaml").path
        let (_, output) = try ModalitiesRepositoryRunTests().modalities(
            [
                "run", "--config_file_path", config, "--experiments_root_path", "runs", "--device", "cpu", "--override",
                "settings.paths.tokenizer_path=\(TestData.path("modalities/tokenizer/hf_gpt2"))",
            ], in: folder)
        let losses = Self.losses(output).train
        #expect(losses.keys.sorted() == Array(stride(from: 2, through: 24, by: 2)), "\(output.suffix(2000))")
        let first = try #require(losses[2])
        let last = try #require(losses[24])
        #expect(first > 9 && last < first / 4, "train losses \(losses.sorted { $0.key < $1.key })")
    }
}
