import DataFormats
import Foundation
import Jinja

/// Modalities' `split_and_apply_chat_template`: reads the chat JSONL line by line, maps the roles, renders each
/// conversation with the chat template into a `chat` field, and writes each line to the train, val or test JSONL
/// that a seeded draw picks, under Modalities' file names:
///
/// ```
/// <dst folder>/<src stem>_<hash>/instruction_chat_template_config.<hash>.yaml   (the config, copied)
/// <dst folder>/<src stem>_<hash>/<dst stem>_train.<hash>.jsonl                    (and _val, _test)
/// ```
///
/// where `<hash>` is the first 7 hex digits of the config file's SHA-256. Lines, key order, the split and the
/// rendered text are those Modalities writes for the same input.
public struct InstructionDataPreparation {
    /// One written partition file.
    public struct PartitionFile: Sendable, Equatable {
        public var partition: String
        public var jsonlPath: String
        public var samples: Int
    }

    public let config: InstructionDataConfig
    public let configFilePath: String

    public init(config: InstructionDataConfig, configFilePath: String) {
        self.config = config
        self.configFilePath = configFilePath
    }

    /// The first 7 hex digits of the config file's SHA-256, which names the output folder and files.
    public func configHash() throws -> String {
        guard let bytes = FileManager.default.contents(atPath: configFilePath) else {
            throw InstructionDataError.io(path: configFilePath, message: "cannot read the config file")
        }
        return String(SHA256.hex(Array(bytes)).prefix(7))
    }

    /// Renders and splits the conversations.
    ///
    /// - Returns: the partitions that received at least one sample, in train, val, test order.
    /// - Throws: ``InstructionDataError`` naming the config key, the template line or the JSONL line at fault.
    public func applyChatTemplate() throws -> [PartitionFile] {
        // Modalities joins the YAML block's lines between tags before compiling: replace("}\n{", "}{").
        let template: JinjaTemplate
        do {
            template = try JinjaTemplate(config.chatTemplate.replacingOccurrences(of: "}\n{", with: "}{"))
        } catch let error as JinjaError {
            throw InstructionDataError.template(configFile: configFilePath, error: error)
        }
        let hash = try configHash()
        let source = PythonPath(config.sourcePath)
        var destination = PythonPath(config.destinationPath)
        let folder = destination.parent.appending("\(source.stem)_\(hash)")
        destination = folder.appending(destination.name)
        try create(folder: folder.path)
        try copy(configFilePath, to: folder.appending("instruction_chat_template_config.\(hash).yaml").path)

        let defaultSuffix = ".\(hash)" + destination.suffixes.joined(separator: ".")
        var writers: [String: (path: String, handle: FileHandle, samples: Int)] = [:]
        defer { for writer in writers.values { try? writer.handle.close() } }
        for partition in config.partitions where partition.percentage != 0 {
            let path = destination.withName("\(destination.stem)_\(partition.name)").withSuffix(defaultSuffix).path
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw InstructionDataError.io(path: path, message: "cannot create the file")
            }
            writers[partition.name] = (path, handle, 0)
        }

        guard let data = FileManager.default.contents(atPath: config.sourcePath) else {
            throw InstructionDataError.io(path: config.sourcePath, message: "cannot read settings.src_path")
        }
        var random = PythonRandom(seed: config.seed)
        let weights = config.partitions.map(\.percentage)
        var lineNumber = 0
        for line in Self.lines(of: data) {
            lineNumber += 1
            let parsed: JinjaValue
            do {
                parsed = try JSONText.parse(line)
            } catch {
                throw InstructionDataError.sample(file: config.sourcePath, line: lineNumber, message: "not a JSON line: \(error)")
            }
            let partition = config.partitions[random.choice(weights: weights)].name
            guard case .object(var entry) = parsed else {
                throw InstructionDataError.sample(
                    file: config.sourcePath, line: lineNumber, message: "expected a JSON object, found \(parsed.typeDescription)")
            }
            entry[config.messagesKey] = try mapRoles(entry, line: lineNumber)
            let messages = entry[config.messagesKey]!
            let rendered: String
            do {
                rendered = try template.render(["messages": messages, "chat_template_data": config.chatTemplateData])
            } catch let error as JinjaError {
                throw InstructionDataError.sample(file: config.sourcePath, line: lineNumber, message: "the chat template failed: \(error)")
            }
            entry["chat"] = .string(rendered)
            let text = try JSONText.dump(.object(entry)) + "\n"
            guard var writer = writers[partition] else { continue }
            writer.handle.write(Data(text.utf8))
            writer.samples += 1
            writers[partition] = writer
        }
        return config.partitions.compactMap { partition in
            guard let writer = writers[partition.name], writer.samples > 0 else { return nil }
            return PartitionFile(partition: partition.name, jsonlPath: writer.path, samples: writer.samples)
        }
    }

    /// The conversation of one line with each turn's `role` (or `from`) renamed by `role_mapping`.
    private func mapRoles(_ entry: JinjaObject, line: Int) throws -> JinjaValue {
        guard let messages = entry[config.messagesKey] else {
            throw InstructionDataError.sample(
                file: config.sourcePath, line: line,
                message:
                    "no '\(config.messagesKey)' key (settings.messages_key); the line has \(entry.keys.map { "'\($0)'" }.joined(separator: ", "))"
            )
        }
        guard case .array(let turns) = messages else {
            throw InstructionDataError.sample(
                file: config.sourcePath, line: line,
                message: "'\(config.messagesKey)' must be a list of turns, found \(messages.typeDescription)")
        }
        return .array(
            try turns.enumerated().map { index, turn in
                guard case .object(var object) = turn else {
                    throw InstructionDataError.sample(
                        file: config.sourcePath, line: line, message: "turn \(index) of '\(config.messagesKey)' is not an object")
                }
                for key in object.keys where key == "role" || key == "from" {
                    let role = object[key]!.pythonString
                    guard let mapped = config.roleMapping[role] else {
                        throw InstructionDataError.sample(
                            file: config.sourcePath, line: line,
                            message:
                                "turn \(index) has \(key) '\(role)', which instruction_data_transformation.role_mapping does not map (it maps \(config.roleMapping.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")))"
                        )
                    }
                    object[key] = .string(mapped)
                }
                return .object(object)
            })
    }

    /// The lines of a text file as Python's text-mode iteration gives them (without their line ends).
    static func lines(of data: Data) -> [String] {
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    }

    private func create(folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw InstructionDataError.io(path: folder, message: "cannot create the folder: \(error.localizedDescription)")
        }
    }

    private func copy(_ source: String, to destination: String) throws {
        guard let bytes = FileManager.default.contents(atPath: source), FileManager.default.createFile(atPath: destination, contents: bytes)
        else {
            throw InstructionDataError.io(path: destination, message: "cannot copy \(source) here")
        }
    }
}

extension JinjaValue {
    var typeDescription: String {
        switch self {
        case .array: return "a list"
        case .object: return "an object"
        case .string: return "a string"
        case .none: return "null"
        default: return pythonRepr
        }
    }
}
