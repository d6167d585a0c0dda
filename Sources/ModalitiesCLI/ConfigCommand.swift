import ArgumentParser
import Components
import Config
import Foundation
import Launcher
import ModalitiesSchema

/// `modalities config ...`: validate, resolve, graph and list components.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check and inspect YAML configs.",
        subcommands: [Validate.self, Resolve.self, Graph.self, Components.self]
    )

    /// Options shared by the commands that read a config file.
    struct FileOptions: ParsableArguments {
        @Argument(help: "The YAML config file.")
        var file: String

        @Option(name: .customLong("experiments_root_path"), help: "Root folder of experiment outputs.")
        var experimentsRootPath: String?

        @Option(name: .customLong("experiment_id"), help: "The run's id (default: generated from the time).")
        var experimentID: String?

        func environment() -> ResolverEnvironment {
            ResolverEnvironment(
                configFilePath: file, experimentsRootPath: experimentsRootPath,
                experimentID: experimentID ?? ExperimentID.make(), variables: ProcessEnvironment.variables)
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve and validate a config; report every problem with file:line:column (exit status 2).")

        @OptionGroup var options: FileOptions

        @Option(
            name: .customLong("for"),
            help: "Which command's keys to check: run, warmstart, generate_text, pack_encoded_data or prepare_instruction_tuning_data (default: inferred).")
        var model: InstantiationModel?

        @Option(
            name: .customLong("last_checkpoint_info_file_path"),
            help:
                "For a warmstart config: the last_checkpoint_info.json `warmstart` would read, so ${warmstart_env:...} resolves as it would there."
        )
        var lastCheckpointInfoFilePath: String?

        func run() throws {
            var environment = options.environment()
            if let lastCheckpointInfoFilePath {
                do {
                    environment.warmstartCheckpointPaths = try TrainingJob.readCheckpointInfo(lastCheckpointInfoFilePath)
                } catch {
                    throw ValidationError("--last_checkpoint_info_file_path: \(error)")
                }
            }
            let validator = ConfigValidator.builtIn(environment: environment, log: note)
            do {
                let result = try validator.validate(file: options.file, for: model)
                if result.model == .prepareInstructionTuningData { try PrepareInstructionTuningData.check(result.resolved, configFile: options.file) }
                for warning in result.warnings { note(warning.description) }
                if let settings = result.settings { print(settings.report) }
                print("\(options.file): valid for \(result.model.rawValue)")
            } catch let error as ConfigError {
                for issue in error.issues { note(issue.description) }
                let errors = error.issues.filter { $0.severity == .error }.count
                note("\(options.file): \(errors) error\(errors == 1 ? "" : "s")")
                throw ExitCode(2)
            }
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the config with every ${...} interpolation resolved.")

        @OptionGroup var options: FileOptions

        func run() throws {
            do {
                let root = try ConfigLoader.load(file: options.file)
                let resolved = try ConfigInterpolator(environment: options.environment(), log: note).resolve(root)
                print(ConfigEmitter.yaml(resolved), terminator: "")
            } catch let error as ConfigError {
                for issue in error.issues { note(issue.description) }
                throw ExitCode(2)
            }
        }
    }

    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which component uses (references) or contains which, as text, dot or mermaid.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, dot, mermaid }

        @OptionGroup var options: FileOptions
        @Option(help: "Output format: text, dot or mermaid.") var format: Format = .text

        func run() throws {
            do {
                let root = try ConfigLoader.load(file: options.file)
                let resolved = try ConfigInterpolator(environment: options.environment(), log: note).resolve(root)
                print(GraphPrinter(edges: ComponentEdges(resolved)).render(format.rawValue), terminator: "")
            } catch let error as ConfigError {
                for issue in error.issues { note(issue.description) }
                throw ExitCode(2)
            }
        }
    }

    struct Components: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every component as component_key/variant_key with its config fields, types and defaults.")

        @Flag(help: "Print a Markdown reference instead of plain text.") var markdown = false

        func run() {
            print(ComponentCatalog(registry: .builtIn()).render(markdown: markdown), terminator: "")
        }
    }
}

extension InstantiationModel: ExpressibleByArgument {}

/// Writes a line to standard error.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Experiment ids like Modalities': the start time, sortable.
enum ExperimentID {
    static func make() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd__HH-mm-ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
