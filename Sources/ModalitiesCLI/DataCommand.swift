import ArgumentParser
import Foundation
import Tokenizers

/// `modalities data ...`: data preparation commands.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare data: tokenizers, indexes and packed datasets.",
        subcommands: [
            CreateRawIndex.self, PackEncodedData.self, MergePackedData.self, ShuffleTokenizedData.self,
            ShuffleJSONLData.self, CreateShuffledDatasetChunk.self, CreateShuffledJSONLChunk.self, DataInfo.self,
            TrainTokenizer.self, PrepareInstructionTuningData.self,
        ]
    )

    struct TrainTokenizer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train_tokenizer",
            abstract: "Train a byte-level BPE tokenizer on text or JSONL files and write a Hugging Face tokenizer.json.",
            aliases: ["train-tokenizer"]
        )

        @Argument(help: "Text files (.txt) or JSON-lines files (.jsonl) to learn from.")
        var inputs: [String]

        @Option(name: .customLong("output_dir"), help: "Folder to write tokenizer.json into (created if missing).")
        var outputDirectory: String

        @Option(name: .customLong("vocab_size"), help: "Vocabulary size, special tokens and the 256 bytes included.")
        var vocabularySize: Int

        @Option(name: .customLong("min_frequency"), help: "Stop when the most frequent pair is rarer than this.")
        var minimumFrequency = 2

        @Option(name: .customLong("special_tokens"), help: "Special tokens, ids from 0 (repeat the option).")
        var specialTokens: [String] = ["<|endoftext|>"]

        @Option(name: .customLong("text_key"), help: "The JSONL field that holds the text.")
        var textKey = "text"

        func validate() throws {
            guard vocabularySize > 256 + specialTokens.count else {
                throw ValidationError(
                    "--vocab_size must exceed 256 bytes plus \(specialTokens.count) special tokens, got \(vocabularySize)")
            }
            for input in inputs where !FileManager.default.isReadableFile(atPath: input) {
                throw ValidationError("cannot read input file \(input)")
            }
        }

        func run() throws {
            var documents: [String] = []
            for input in inputs {
                documents += try TrainingText.documents(in: input, textKey: textKey)
            }
            let trainer = BytePairTrainer(
                vocabularySize: vocabularySize, minimumFrequency: minimumFrequency,
                specialTokens: specialTokens)
            let model = trainer.train(documents)
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            let path = URL(fileURLWithPath: outputDirectory).appendingPathComponent("tokenizer.json")
            try BytePairTrainer.tokenizerJSON(model).write(to: path, options: .atomic)
            print(
                "wrote \(path.path): \(model.specialTokens.count + model.tokens.count) tokens, \(model.merges.count) merges from \(documents.count) documents"
            )
        }
    }
}

/// Reads training documents: a text file split at blank lines, or one JSONL field per line.
enum TrainingText {
    static func documents(in path: String, textKey: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read input file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("\(path) is not valid UTF-8")
        }
        guard path.hasSuffix(".jsonl") else { return text.components(separatedBy: "\n\n") }
        var documents: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            guard let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ValidationError("\(path):\(number + 1): not a JSON object")
            }
            guard let value = row[textKey] as? String else {
                throw ValidationError("\(path):\(number + 1): no string field '\(textKey)'")
            }
            documents.append(value)
        }
        return documents
    }
}
