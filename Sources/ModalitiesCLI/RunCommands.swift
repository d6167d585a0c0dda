import ArgumentParser
import Config
import Foundation
import Launcher
import Logging
import Observability

/// Options of `run` and `warmstart`, spelled as Modalities spells them.
struct TrainingOptions: ParsableArguments {
    @Option(name: .customLong("config_file_path"), help: "The training config (YAML).")
    var configFilePath: String

    @Option(name: .customLong("experiments_root_path"), help: "Folder under which the experiment folder <id>/ is made.")
    var experimentsRootPath: String

    @Option(name: .customLong("error_log_folder"), help: "On failure each rank writes a JSON error log here.")
    var errorLogFolder: String?

    @Option(help: "auto (the rank's GPU when the machine has one), cpu or cuda.")
    var device: DeviceChoice = .automatic

    @Option(
        name: .customLong("stop_after_steps"),
        help:
            "End this run after N optimizer steps, short of the config's target (schedule and progress stay as configured); a multiple of checkpointing_interval_in_steps leaves a checkpoint to warm-start from."
    )
    var stopAfterSteps: Int?

    @Option(
        name: .customLong("override"),
        help:
            "key.path=value: replace one value of the config (read as YAML) before interpolation, e.g. model_raw.config.n_layer=2; repeatable. The file is not changed."
    )
    var overrides: [String] = []

    /// The parsed `--override` arguments.
    var configOverrides: [ConfigOverride] {
        get throws { try overrides.map(ConfigOverride.init) }
    }

    func validate() throws {
        for override in overrides {
            do { _ = try ConfigOverride(override) } catch let error as ConfigValueError { throw ValidationError(error.message) }
        }
        if let stopAfterSteps, stopAfterSteps < 1 { throw ValidationError("--stop_after_steps must be 1 or more, found \(stopAfterSteps)") }
    }

    @OptionGroup var logging: LoggingOptions

    /// Runs `job`, reporting config problems with their locations (exit 2) and other failures (exit 1).
    func launch(_ job: TrainingJob) throws {
        do {
            let summary = try job.run()
            guard (ProcessEnvironment.variables["RANK"].flatMap(Int.init) ?? 0) == 0 else { return }
            print(
                "done: \(summary.progress.numSeenStepsTotal) steps, \(summary.progress.numSeenTokensTotal) tokens in \(String(format: "%.1f", summary.trainingSeconds)) s (data wait \(String(format: "%.2f", summary.dataWaitSeconds)) s)"
            )
            print("experiment folder: \(summary.experimentFolder)")
        } catch let error as ConfigError {
            for issue in error.issues { note(issue.description) }
            try writeErrorLog(error)
            throw ExitCode(2)
        } catch {
            note("error: \(error)")
            try writeErrorLog(error)
            throw ExitCode(1)
        }
    }

    private func writeErrorLog(_ error: Error) throws {
        guard let errorLogFolder else { return }
        note("error log: \(try ErrorLog.write(error, to: errorLogFolder, environment: ProcessEnvironment.variables))")
    }
}

/// `modalities run`: trains as a config says.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Train as a config declares: the same driver for one CPU, one GPU or many ranks.")

    @OptionGroup var options: TrainingOptions

    @Option(name: .customLong("experiment_id"), help: "The run's id (default: start time + hash of the config path).")
    var experimentID: String?

    @Flag(name: .customLong("test_comm"), help: "Check the ranks' collectives (an all-reduce and a barrier) before training.")
    var testCommunication = false

    @Option(
        name: .customLong("resume_from_checkpoint"),
        help: "A checkpoint folder of this run: continue from it with this (run) config; the sweep runner resumes this way.")
    var resumeFromCheckpoint: String?

    func run() throws {
        options.logging.bootstrap()
        var jobOptions = TrainingJob.Options(
            configFilePath: options.configFilePath, experimentsRootPath: options.experimentsRootPath,
            experimentID: experimentID, environment: ProcessEnvironment.variables)
        jobOptions.resumeFromCheckpoint = resumeFromCheckpoint
        jobOptions.testCommunication = testCommunication
        jobOptions.device = options.device
        jobOptions.stopAfterSteps = options.stopAfterSteps
        jobOptions.overrides = try options.configOverrides
        try options.launch(TrainingJob(options: jobOptions))
    }
}

/// `modalities warmstart`: continues a run from its last checkpoint.
struct WarmstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warmstart",
        abstract: "Continue training from the checkpoint a last_checkpoint_info.json names (a warmstart config).")

    @OptionGroup var options: TrainingOptions

    @Option(name: .customLong("last_checkpoint_info_file_path"), help: "The last_checkpoint_info.json written next to the checkpoints.")
    var lastCheckpointInfoFilePath: String

    func run() throws {
        options.logging.bootstrap()
        var jobOptions = TrainingJob.Options(
            configFilePath: options.configFilePath, experimentsRootPath: options.experimentsRootPath,
            lastCheckpointInfoFilePath: lastCheckpointInfoFilePath, environment: ProcessEnvironment.variables)
        jobOptions.device = options.device
        jobOptions.stopAfterSteps = options.stopAfterSteps
        jobOptions.overrides = try options.configOverrides
        try options.launch(TrainingJob(options: jobOptions))
    }
}

/// `--log-level`: how much the training commands print (swift-log levels), each line prefixed with the rank.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var level: Logger.Level = .info

    func bootstrap() {
        RankLogHandler.bootstrap(level: level, environment: ProcessEnvironment.variables)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

extension DeviceChoice: ExpressibleByArgument {}
