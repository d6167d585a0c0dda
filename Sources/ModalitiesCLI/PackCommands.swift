import ArgumentParser
import Components
import Config
import DataFormats
import Foundation
import Tokenizers

extension FileExistencePolicy: ExpressibleByArgument {}

/// Decides whether a command may write `path`; returns false to skip.
func mayWrite(_ path: String, policy: FileExistencePolicy) throws -> Bool {
    guard FileManager.default.fileExists(atPath: path) else { return true }
    switch policy {
    case .skip:
        note("\(path) exists; skipping (file_existence_policy skip)")
        return false
    case .error:
        note(DataFormatError.exists(path: path).description)
        throw ExitCode.failure
    case .override:
        return true
    }
}

/// The config at `path` with its `${...}` interpolations resolved against the process environment.
func resolvedConfig(_ path: String) throws -> ConfigNode {
    try ConfigInterpolator(
        environment: ResolverEnvironment(configFilePath: path, variables: ProcessEnvironment.variables), log: note
    ).resolve(ConfigLoader.load(file: path))
}

/// Swaps the extension of `path`.
func replacingExtension(of path: String, with newExtension: String) -> String {
    (path as NSString).deletingPathExtension + "." + newExtension
}

struct CreateRawIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create_raw_index", abstract: "Index the lines of a JSONL file as Modalities' .idx (byte offset, length).")

    @Argument(help: "The JSONL file.") var source: String
    @Option(name: .customLong("index_path"), help: "Where to write the index (default: next to the source, .idx).") var indexPath: String?
    @Option(name: .customLong("file_existence_policy"), help: "skip, error or override an existing index.") var policy:
        FileExistencePolicy = .error
    @Flag(name: .customLong("fail_on_invalid_lines"), help: "Fail instead of leaving invalid lines out of the index.") var failOnInvalid =
        false

    func run() throws {
        let destination = indexPath ?? replacingExtension(of: source, with: "idx")
        guard try mayWrite(destination, policy: policy) else { return }
        let (entries, invalid) = try RawIndex.build(jsonl: source)
        for line in invalid.prefix(20) { note("\(source):\(line.line): \(line.reason)") }
        if invalid.count > 20 { note("... and \(invalid.count - 20) more invalid lines") }
        if failOnInvalid && !invalid.isEmpty { throw ExitCode(2) }
        try RawIndex.write(entries, to: destination)
        print("wrote \(destination): \(entries.count) lines indexed, \(invalid.count) invalid left out")
    }
}

/// A `jq_pattern` value: checked where it is written, so a message points at it.
struct JQPattern: Decodable {
    var path: JSONPath

    init(from decoder: Decoder) throws {
        let pattern = try decoder.singleValueContainer().decode(String.self)
        guard let path = JSONPath(pattern) else {
            throw ConfigValueError("jq_pattern '\(pattern)' is not a key path such as .text, .meta.body or .[\"key\"]")
        }
        self.path = path
    }
}

/// The `settings` of a pack_encoded_data config, with Modalities' field names.
struct PackEncodedDataSettings: Decodable {
    var sourcePath: String
    var destinationPath: String?
    var indexPath: String?
    var jsonPath: JSONPath
    var cpuCount: Int
    var endOfDocumentToken: String
    var processingBatchSize: PositiveInt
    var rawSamplesQueueSize: PositiveInt?
    var processedSamplesQueueSize: PositiveInt?

    enum CodingKeys: String, CodingKey {
        case sourcePath = "src_path", destinationPath = "dst_path", indexPath = "index_path", jqPattern = "jq_pattern"
        case cpuCount = "num_cpus", endOfDocumentToken = "eod_token", processingBatchSize = "processing_batch_size"
        case rawSamplesQueueSize = "raw_samples_queue_size", processedSamplesQueueSize = "processed_samples_queue_size"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sourcePath = try container.decode(String.self, forKey: .sourcePath)
        destinationPath = try container.decodeIfPresent(String.self, forKey: .destinationPath)
        indexPath = try container.decodeIfPresent(String.self, forKey: .indexPath)
        jsonPath = try container.decode(JQPattern.self, forKey: .jqPattern).path
        cpuCount = try container.decodeIfPresent(PositiveInt.self, forKey: .cpuCount)?.value ?? ProcessInfo.processInfo.activeProcessorCount
        endOfDocumentToken = try container.decode(String.self, forKey: .endOfDocumentToken)
        processingBatchSize = try container.decode(PositiveInt.self, forKey: .processingBatchSize)
        // Threads share memory here, so the queues of Modalities' processes are not needed; the sizes are checked.
        rawSamplesQueueSize = try container.decodeIfPresent(PositiveInt.self, forKey: .rawSamplesQueueSize)
        processedSamplesQueueSize = try container.decodeIfPresent(PositiveInt.self, forKey: .processedSamplesQueueSize)
    }
}

struct PackEncodedData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack_encoded_data", abstract: "Tokenize a JSONL file and pack it into a .pbin, as configured by a YAML file.")

    @Argument(help: "The YAML config (settings + tokenizer).") var config: String
    @Option(name: .customLong("file_existence_policy"), help: "skip, error or override an existing output.") var policy:
        FileExistencePolicy = .error

    func run() throws {
        try Self.pack(configPath: config, policy: policy)
    }

    /// Packs the JSONL that the pack_encoded_data config at `configPath` names; `prepare_instruction_tuning_data`
    /// packs each of its partitions through here too.
    static func pack(configPath config: String, policy: FileExistencePolicy) throws {
        let settings: PackEncodedDataSettings
        let tokenizer: any Tokenizer
        do {
            let resolved = try resolvedConfig(config)
            let graph = ObjectGraph(root: resolved, registry: .builtIn())
            settings = try graph.decode(PackEncodedDataSettings.self, key: "settings")
            tokenizer = try graph.build("tokenizer", as: (any Tokenizer).self)
        } catch let error as ConfigError {
            for issue in error.issues { note(issue.description) }
            throw ExitCode(2)
        }
        guard let endOfDocument = tokenizer.tokenID(settings.endOfDocumentToken) else {
            throw ValidationError("\(config): settings.eod_token '\(settings.endOfDocumentToken)' is not a token of the tokenizer")
        }
        let destination = settings.destinationPath ?? replacingExtension(of: settings.sourcePath, with: "pbin")
        guard try mayWrite(destination, policy: policy) else { return }
        let defaultIndex = replacingExtension(of: settings.sourcePath, with: "idx")
        let indexPath = settings.indexPath ?? (FileManager.default.fileExists(atPath: defaultIndex) ? defaultIndex : nil)
        let index = try indexPath.map(RawIndex.read)
        let size = (try? FileManager.default.attributesOfItem(atPath: settings.sourcePath)[.size] as? Int) ?? 0
        let progress = ProgressReporter(label: "pack_encoded_data", totalBytes: size)
        let packer = Packer(
            tokenizer: tokenizer, endOfDocumentID: endOfDocument, jsonPath: settings.jsonPath,
            workers: settings.cpuCount, batchSize: settings.processingBatchSize.value * settings.cpuCount * 8)
        let report = try packer.pack(source: settings.sourcePath, index: index, destination: destination) {
            progress.update(bytes: $0.bytesRead, documents: $0.documents, tokens: $0.tokens)
        }
        progress.update(bytes: report.bytesRead, documents: report.documents, tokens: report.tokens, force: true)
        progress.finish()
        for line in report.emptyLines.prefix(10) { note("\(settings.sourcePath):\(line): empty document, left out") }
        for (line, reason) in report.faultyLines.prefix(10) { note("\(settings.sourcePath):\(line): \(reason), left out") }
        print(
            "wrote \(destination): \(report.documents) documents, \(report.tokens) tokens; \(report.emptyLines.count) empty and \(report.faultyLines.count) faulty documents left out"
        )
    }
}
