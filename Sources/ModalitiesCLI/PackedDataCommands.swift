import ArgumentParser
import DataFormats
import Foundation

struct MergePackedData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge_packed_data", abstract: "Concatenate .pbin files into one (document offsets stay correct).")

    @Argument(help: "The .pbin files to merge, then the output path.") var paths: [String]
    @Option(name: .customLong("file_existence_policy"), help: "skip, error or override an existing output.") var policy:
        FileExistencePolicy = .error

    func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("give at least one source .pbin and the target path") }
    }

    func run() throws {
        let target = paths.last!
        guard try mayWrite(target, policy: policy) else { return }
        let (documents, tokens) = try PackedDataOperations.merge(Array(paths.dropLast()), into: target)
        print("wrote \(target): \(documents) documents, \(tokens) tokens from \(paths.count - 1) files")
    }
}

struct ShuffleTokenizedData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shuffle_tokenized_data", abstract: "Write the documents of a .pbin in a seeded random order.")

    @Option(name: .customLong("input_data_path")) var input: String
    @Option(name: .customLong("output_data_path")) var output: String
    @Option(name: .customLong("file_existence_policy")) var policy: FileExistencePolicy = .error
    @Option(help: "Random seed; the same seed gives the same order on every machine.") var seed: UInt64 = 0

    func run() throws {
        guard try mayWrite(output, policy: policy) else { return }
        let count = try PackedDataOperations.shuffle(input, into: output, seed: seed)
        print("wrote \(output): \(count) documents shuffled with seed \(seed)")
    }
}

struct ShuffleJSONLData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shuffle_jsonl_data", abstract: "Write the lines of a JSONL file in a seeded random order.")

    @Option(name: .customLong("input_data_path")) var input: String
    @Option(name: .customLong("output_data_path")) var output: String
    @Option(name: .customLong("file_existence_policy")) var policy: FileExistencePolicy = .error
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func run() throws {
        guard try mayWrite(output, policy: policy) else { return }
        let count = try PackedDataOperations.shuffleJSONL(input, into: output, seed: seed)
        print("wrote \(output): \(count) lines shuffled with seed \(seed)")
    }
}

/// Options shared by the two chunk commands, as Modalities names them.
struct ChunkOptions: ParsableArguments {
    @Option(name: .customLong("input_file_list_path"), help: "A text file listing the input files, one per line.") var fileList: String
    @Option(name: .customLong("input_data_root"), help: "Folder the listed paths are relative to.") var root: String = "."
    @Option(name: .customLong("output_chunk_file_path")) var output: String
    @Option(name: .customLong("chunk_id")) var chunkID: Int
    @Option(name: .customLong("num_chunks")) var chunkCount: Int
    @Option(name: .customLong("file_existence_policy")) var policy: FileExistencePolicy = .error
    @Option(name: .customLong("global_seed")) var seed: UInt64 = 0

    func inputs() throws -> [String] {
        guard let text = try? String(contentsOfFile: fileList, encoding: .utf8) else {
            throw ValidationError("cannot read the file list \(fileList)")
        }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map {
            $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: root).appendingPathComponent($0).path
        }
    }
}

struct CreateShuffledDatasetChunk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create_shuffled_dataset_chunk", abstract: "Take chunk i of n from every .pbin, shuffle them together.")

    @OptionGroup var options: ChunkOptions

    func run() throws {
        guard try mayWrite(options.output, policy: options.policy) else { return }
        let count = try PackedDataOperations.shuffledChunk(
            of: options.inputs(), chunkID: options.chunkID, chunkCount: options.chunkCount,
            into: options.output, seed: options.seed)
        print("wrote \(options.output): \(count) documents (chunk \(options.chunkID) of \(options.chunkCount))")
    }
}

struct CreateShuffledJSONLChunk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create_shuffled_jsonl_chunk", abstract: "Take chunk i of n from every JSONL file, shuffle them together.")

    @OptionGroup var options: ChunkOptions

    func run() throws {
        guard try mayWrite(options.output, policy: options.policy) else { return }
        let count = try PackedDataOperations.shuffledJSONLChunk(
            of: options.inputs(), chunkID: options.chunkID,
            chunkCount: options.chunkCount, into: options.output, seed: options.seed)
        print("wrote \(options.output): \(count) lines (chunk \(options.chunkID) of \(options.chunkCount))")
    }
}

struct DataInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a .pbin's header, token and document counts and first tokens, or an .idx's entries.")

    @Argument(help: "A .pbin or .idx file.") var path: String
    @Option(help: "How many leading tokens or entries to show.") var first = 16

    func validate() throws {
        guard first >= 0 else { throw ValidationError("--first must be 0 or more, found \(first)") }
    }

    func run() throws {
        if path.hasSuffix(".idx") {
            let entries = try RawIndex.read(path)
            print("\(path): raw JSONL index, \(entries.count) lines")
            print("first entries (byte offset, length): \(entries.prefix(first).map { "(\($0.0), \($0.1))" }.joined(separator: ", "))")
            return
        }
        let file = try PackedDataFile(path: path)
        print("\(path): packed tokens")
        print("header: data length \(file.dataLength) bytes, token size \(file.tokenSize) bytes")
        print("tokens: \(file.tokenCount), documents: \(file.documents.count)")
        print("first tokens: \(file.tokens(in: 0..<min(first, file.tokenCount)).map(String.init).joined(separator: " "))")
    }
}
