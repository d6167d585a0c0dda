import ArgumentParser
import Config
import DataFormats
import Foundation
import InstructionTuning
import Jinja

/// `modalities data prepare_instruction_tuning_data`: Modalities' instruction-tuning data preparation — the chat
/// template applied and the data split (``InstructionDataPreparation``), then each partition indexed and packed
/// with the `pbin_creation_config_file_path` config, whose copy per partition records the paths it packed.
struct PrepareInstructionTuningData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare_instruction_tuning_data",
        abstract: "Apply a chat template to a chat JSONL, split it into train/val/test, and index and pack each split.")

    @Option(
        name: .customLong("config_file_path"), help: "The YAML config (settings, role mapping, jinja2_chat_template, chat_template_data).")
    var configFilePath: String

    func run() throws {
        let config: InstructionDataConfig
        do {
            config = try InstructionDataConfig(resolvedConfig(configFilePath))
        } catch let error as ConfigError {
            for issue in error.issues { note(issue.description) }
            throw ExitCode(2)
        } catch let error as InstructionDataError {
            note(error.description)
            throw ExitCode(2)
        }
        let files: [InstructionDataPreparation.PartitionFile]
        do {
            files = try InstructionDataPreparation(config: config, configFilePath: configFilePath).applyChatTemplate()
        } catch let error as InstructionDataError {
            note(error.description)
            throw ExitCode.failure
        }
        print("Chat template applied and saved to \(files.map(\.jsonlPath))")
        guard let packConfig = config.packConfigPath, let first = files.first else { return }
        let hashSuffix = PythonPath(first.jsonlPath).suffixes.first ?? ""
        for file in files {
            let indexPath = PythonPath(file.jsonlPath).withSuffix(".idx").path
            let (entries, invalid) = try RawIndex.build(jsonl: file.jsonlPath)
            guard invalid.isEmpty else {
                throw ValidationError("\(file.jsonlPath):\(invalid[0].line): \(invalid[0].reason)")
            }
            try RawIndex.write(entries, to: indexPath)
            let partitionConfig = PythonPath(file.jsonlPath).withName("pbin_config_\(file.partition)").withSuffix(hashSuffix + ".yaml").path
            try writePartitionConfig(
                from: packConfig, to: partitionConfig, source: file.jsonlPath, index: indexPath,
                destination: PythonPath(indexPath).withSuffix(".pbin").path)
            try PackEncodedData.pack(configPath: partitionConfig, policy: .override)
        }
    }

    /// What `config validate` checks for this command, without writing anything: the config's fields, the chat
    /// template compiling, and the files it reads existing.
    ///
    /// - Throws: ``ConfigError`` with one issue per problem, each naming the file and line.
    static func check(_ resolved: ConfigNode, configFile: String) throws {
        let config: InstructionDataConfig
        do {
            config = try InstructionDataConfig(resolved)
        } catch let InstructionDataError.config(location, key, message) {
            throw ConfigError(ConfigIssue(.invalidValue, "\(key): \(message)", at: location))
        }
        var issues: [ConfigIssue] = []
        func location(_ path: [String]) -> SourceLocation {
            resolved[path: path]?.location ?? SourceLocation(file: configFile, line: 0, column: 0)
        }
        do {
            _ = try JinjaTemplate(config.chatTemplate.replacingOccurrences(of: "}\n{", with: "}{"))
        } catch let error as JinjaError {
            issues.append(ConfigIssue(.invalidValue, "jinja2_chat_template: \(error)", at: location(["jinja2_chat_template"])))
        }
        if !FileManager.default.fileExists(atPath: config.sourcePath) {
            issues.append(
                ConfigIssue(.invalidValue, "settings.src_path: no file '\(config.sourcePath)'", at: location(["settings", "src_path"])))
        }
        if let pack = config.packConfigPath, !FileManager.default.fileExists(atPath: pack) {
            issues.append(
                ConfigIssue(
                    .invalidValue, "settings.pbin_creation_config_file_path: no file '\(pack)'",
                    at: location(["settings", "pbin_creation_config_file_path"])))
        }
        if !issues.isEmpty { throw ConfigError(issues) }
    }

    /// Copies the packing config with `settings.src_path`, `index_path` and `dst_path` set to one partition's files
    /// (interpolations resolved, as Modalities' copy has them).
    private func writePartitionConfig(from packConfig: String, to path: String, source: String, index: String, destination: String) throws {
        do {
            var resolved = try resolvedConfig(packConfig)
            for (key, value) in [("src_path", source), ("index_path", index), ("dst_path", destination)] {
                resolved = resolved.setting(path: ["settings", key], to: .scalar(value, quoted: true))
            }
            guard FileManager.default.createFile(atPath: path, contents: Data(ConfigEmitter.yaml(resolved).utf8)) else {
                throw ValidationError("cannot write \(path)")
            }
        } catch let error as ConfigError {
            for issue in error.issues { note(issue.description) }
            throw ExitCode(2)
        }
    }
}
