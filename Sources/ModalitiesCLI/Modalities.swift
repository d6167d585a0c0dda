import ArgumentParser
import Foundation
import Launcher

/// The `modalities` command: one entry point for every job.
@main
struct Modalities: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modalities",
        abstract: "LLM pre-training and ablations on libtorch, configured by one YAML file.",
        subcommands: [
            EnvCommand.self, ConfigCommand.self, DataCommand.self, RunCommand.self, WarmstartCommand.self, DemoCommand.self,
            GenerateTextCommand.self, ConvertToHuggingFaceCommand.self, ConvertPyTorchToHuggingFaceCommand.self,
            ModelLogitsCommand.self, LaunchCommand.self, CollectivesCheckCommand.self, ShardingCheckCommand.self, BenchmarkCommand.self,
            SweepCommand.self, ReportCommand.self, SmokeCommand.self, SelfTestCommand.self, ProfileCommand.self, PlanCommand.self,
        ]
    )

    static func main() {
        // A rank that `modalities launch` started dies with it.
        LaunchedRank.dieWithLauncher(environment: ProcessEnvironment.variables)
        main(nil)
    }
}
