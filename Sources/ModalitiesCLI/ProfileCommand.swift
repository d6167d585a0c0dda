import ArgumentParser
import Config
import Foundation
import Launcher

/// `modalities profile`: Modalities' profiling entry points.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Profile a steppable component (a forward/backward pass) with a steppable profiler.",
        subcommands: [Distributed.self, SingleProcess.self])

    /// The options both entry points take (Modalities' `--config_file_path` and `--experiment_root_path`).
    struct Options: ParsableArguments {
        @Option(name: .customLong("config_file_path"), help: "The profiling config (steppable_component, profiler and what they name).")
        var configFilePath: String
        @Option(name: .customLong("experiment_root_path"), help: "Where the experiment folder (a copy of the config) is made.")
        var experimentRootPath: String
        @Option(help: "auto (the rank's GPU when the machine has one), cpu or cuda.")
        var device: DeviceChoice = .automatic
        @OptionGroup var logging: LoggingOptions

        /// Runs the profile with the rank variables in `environment`.
        func profile(environment: [String: String]) throws {
            logging.bootstrap()
            var options = TrainingJob.Options(
                configFilePath: configFilePath, experimentsRootPath: experimentRootPath, environment: environment)
            options.device = device
            do {
                let folder = try ProfilingJob(options: options).run()
                if (environment["RANK"].flatMap(Int.init) ?? 0) == 0 { print("experiment folder: \(folder)") }
            } catch let error as ConfigError {
                for issue in error.issues { note(issue.description) }
                throw ExitCode(2)
            } catch {
                note("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// `modalities profile distributed`: every rank (under `launch`, or one process) steps the config's
    /// `steppable_component` and `profiler` for the profiler's schedule.
    struct Distributed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "distributed",
            abstract: "Run the config's steppable_component under its profiler on every rank; traces go where the profiler's config says.")

        @OptionGroup var options: Options

        func run() throws { try options.profile(environment: ProcessEnvironment.variables) }
    }

    /// `modalities profile single_process`: Modalities' `run_single_process`, one process without a process group (the
    /// profiling tutorial's single-process example).
    struct SingleProcess: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "single_process", abstract: "Run the config's steppable_component under its profiler in this process alone.")

        @OptionGroup var options: Options

        func run() throws {
            var environment = ProcessEnvironment.variables
            for name in ["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"] { environment[name] = nil }
            try options.profile(environment: environment)
        }
    }
}
