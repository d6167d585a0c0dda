import Config
import DataFormats
import Foundation
import Jinja
import TestSupport
import Testing

@testable import InstructionTuning

/// `prepare_instruction_tuning_data`'s first half against what Modalities writes for its own test config
/// (goldens by `scripts/instruction-data-goldens.py`, which runs Modalities' steps with Python's jinja2 and random).
struct InstructionDataPreparationTests {
    static let configPath = TestData.path("modalities-repo/tests/instruction_tuning/files/apply_chat_template_config.yaml")

    static func temporaryFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("instruction-data-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Modalities' test config, reading the repository's JSONL and writing under `folder` (as its e2e test sets dst_path).
    static func config(writingTo folder: String) throws -> InstructionDataConfig {
        var config = try InstructionDataConfig(ConfigLoader.load(file: configPath))
        config.sourcePath = TestData.path("modalities-repo/" + config.sourcePath)
        config.destinationPath = folder + "/lorem_ipsum_instruct_converted.jsonl"
        return config
    }

    struct Golden: Decodable {
        struct Partition: Decodable {
            let partition: String
            let file: String
            let samples: Int
            let sha256: String
            let first_line: String
        }
        let config_hash: String
        let folder: String
        let partitions: [Partition]
    }

    @Test func splitAndRenderMatchModalities() throws {
        let goldenURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Golden/lorem_ipsum_instruct.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: goldenURL))
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let preparation = InstructionDataPreparation(config: try Self.config(writingTo: folder), configFilePath: Self.configPath)
        #expect(try preparation.configHash() == golden.config_hash)
        let files = try preparation.applyChatTemplate()
        #expect(files.map(\.partition) == golden.partitions.map(\.partition))
        for (file, expected) in zip(files, golden.partitions) {
            #expect(file.jsonlPath == "\(folder)/\(golden.folder)/\(expected.file)")
            #expect(file.samples == expected.samples)
            let bytes = try #require(FileManager.default.contents(atPath: file.jsonlPath))
            #expect(String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) == expected.first_line)
            #expect(SHA256.hex(Array(bytes)) == expected.sha256)
        }
        // The config travels with the data, named by its hash.
        #expect(
            FileManager.default.fileExists(atPath: "\(folder)/\(golden.folder)/instruction_chat_template_config.\(golden.config_hash).yaml")
        )
    }

    @Test func pythonRandomMatchesCPython() {
        // random.seed(1234); [random.random() for _ in range(3)] in CPython 3.11
        var random = PythonRandom(seed: 1234)
        #expect([random.random(), random.random(), random.random()] == [0.9664535356921388, 0.4407325991753527, 0.007491470058587191])
        // random.seed(2**40 + 7); random.seed(-5): seeds of two words, and negative seeds (their magnitude)
        var large = PythonRandom(seed: (1 << 40) + 7)
        #expect(large.random() == 0.6137037779936511)
        var negative = PythonRandom(seed: -5)
        #expect(negative.random() == 0.6229016948897019)
        // random.seed(1234); [random.choices(['train','val','test'], weights=[70,0,30])[0] for _ in range(20)]
        var split = PythonRandom(seed: 1234)
        let drawn = (0..<20).map { _ in ["train", "val", "test"][split.choice(weights: [70, 0, 30])] }
        #expect(
            drawn == [
                "test", "train", "train", "test", "test", "train", "train", "train", "test", "train",
                "train", "test", "train", "train", "train", "train", "train", "train", "train", "train",
            ])
    }

    @Test func pythonPathNamesFilesAsPathlib() {
        let path = PythonPath("out/data.v2.jsonl")
        #expect(path.stem == "data.v2")
        #expect(path.suffixes == [".v2", ".jsonl"])
        #expect(path.withName("x_train").withSuffix(".abc1234.jsonl").path == "out/x_train.abc1234.jsonl")
        #expect(PythonPath("data.jsonl").parent.appending("d").path == "d")
        #expect(PythonPath("p/pbin_config_train").withSuffix(".abc1234.yaml").path == "p/pbin_config_train.abc1234.yaml")
    }

    // MARK: Bad input

    static func configText(
        splitting: String = "train: 70\n      val: 0\n      test: 30", template: String = "{{ messages | length }}",
        messagesKey: String = "messages", source: String
    ) -> String {
        """
        settings:
          src_path: \(source)
          dst_path: out.jsonl
          messages_key: \(messagesKey)
          split_config:
            splitting:
              \(splitting)
            seed: 1
        instruction_data_transformation:
          role_mapping:
            gpt: Assistant
            human_1: User
        jinja2_chat_template: "\(template)"
        chat_template_data: {}
        """
    }

    static func prepare(_ text: String, jsonl: String) throws -> [InstructionDataPreparation.PartitionFile] {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = folder + "/chat.jsonl"
        try jsonl.write(toFile: source, atomically: true, encoding: .utf8)
        let configPath = folder + "/config.yaml"
        try text.replacingOccurrences(of: "SOURCE", with: source).write(toFile: configPath, atomically: true, encoding: .utf8)
        var config = try InstructionDataConfig(ConfigLoader.load(file: configPath))
        config.destinationPath = folder + "/out.jsonl"
        return try InstructionDataPreparation(config: config, configFilePath: configPath).applyChatTemplate()
    }

    @Test func splitsThatDoNotAddUpTo100AreRefused() throws {
        let text = Self.configText(splitting: "train: 70\n      val: 20\n      test: 20", source: "SOURCE")
        #expect {
            _ = try Self.prepare(text, jsonl: "")
        } throws: { error in
            "\(error)".contains("settings.split_config.splitting: train + val + test must be 100, found 70 + 20 + 20 = 110")
        }
    }

    @Test func aRoleWithoutMappingNamesTheLine() throws {
        let jsonl =
            #"{"messages": [{"role": "human_1", "content": "hi"}]}"# + "\n" + #"{"messages": [{"role": "robot", "content": "x"}]}"# + "\n"
        #expect {
            _ = try Self.prepare(Self.configText(source: "SOURCE"), jsonl: jsonl)
        } throws: { error in
            "\(error)".contains("chat.jsonl:2: turn 0 has role 'robot', which instruction_data_transformation.role_mapping does not map")
        }
    }

    @Test func aMissingMessagesKeyNamesTheLine() throws {
        #expect {
            _ = try Self.prepare(Self.configText(messagesKey: "conversation", source: "SOURCE"), jsonl: #"{"messages": []}"# + "\n")
        } throws: { error in
            "\(error)".contains("chat.jsonl:1: no 'conversation' key (settings.messages_key)")
        }
    }

    @Test func aTemplateThatDoesNotCompileNamesItsLine() throws {
        #expect {
            _ = try Self.prepare(Self.configText(template: "{% for m in messages %}\\nturn {{ m }}", source: "SOURCE"), jsonl: "")
        } throws: { error in
            "\(error)".contains("jinja2_chat_template: template syntax error on line 2")
        }
    }
}
