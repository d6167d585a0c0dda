import Ablations
import ArgumentParser
import Components
import Config
import Foundation
import Launcher
import ModalitiesSchema
import Planning

/// `modalities benchmark prepare_sweep_configs`: one validated config per sweep point and world size.
struct PrepareSweepConfigsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare_sweep_configs",
        abstract: "Write one validated config per point of a sweep file's `sweep:` block and per world size.",
        discussion: """
            The configs go to <output_dir>/<sweep file name>/<world size>/<point>/, the point named by its varied \
            values (e.g. lr-0.001__n_layer-2). Run them with `modalities sweep run <output_dir>/<sweep file name>`.
            """)

    @Option(name: .customLong("sweep_config_path"), help: "A config with a top-level sweep: block (values used as ${sweep.<key>}).")
    var sweepConfigPath: String
    @Option(name: .customLong("output_dir")) var outputDirectory: String
    @Option(name: .customLong("world_sizes"), help: "Comma-separated world sizes, e.g. 1,2,4.") var worldSizes = "2"
    @Option(
        name: .customLong("plan_gpu"),
        help:
            "Also print each config's predicted step time, tokens/s, MFU and memory per GPU on this GPU (a100, h100, h200, b200; `modalities plan`), the world size being the GPU count."
    )
    var planGPU: String?

    func run() throws {
        let planner = try planGPU.map { try RunPlanner(gpuFlag: "--plan_gpu", $0) }
        let sizes = worldSizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--world_sizes must be a comma-separated list of positive integers, e.g. 1,2,4; got '\(worldSizes)'")
        }
        let definition = try SweepDefinition(file: sweepConfigPath)
        let preparer = SweepPreparer(definition: definition, outputDirectory: outputDirectory, worldSizes: sizes.map { $0! }) {
            config, path, worldSize in
            var variables = ProcessEnvironment.variables
            variables["RANK"] = "0"
            variables["LOCAL_RANK"] = "0"
            variables["WORLD_SIZE"] = String(worldSize)
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            let environment = ResolverEnvironment(
                configFilePath: path, experimentsRootPath: folder.deletingLastPathComponent().path,
                experimentID: folder.lastPathComponent, variables: variables)
            _ = try ConfigValidator.builtIn(environment: environment).validate(config)
        }
        let written = try preparer.prepare()
        let points = try definition.points()
        print(
            "\(points.count) point\(points.count == 1 ? "" : "s") × \(sizes.count) world size\(sizes.count == 1 ? "" : "s"): \(written.count) configs (varied: \(definition.variedKeys.joined(separator: ", ")))"
        )
        for path in written {
            guard let planner else {
                print(path)
                continue
            }
            print("\(path): \(Self.predictedCost(of: path, planner: planner))")
        }
    }

    /// One line of `modalities plan` for a prepared config, its world size the GPU count.
    static func predictedCost(of path: String, planner: RunPlanner) -> String {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent()
        guard let gpus = Int(folder.lastPathComponent) else { return "no world size in its path" }
        do {
            let plan = try planner.plan(configFile: path, gpus: gpus, environment: ProcessEnvironment.variables).plan
            return String(
                format: "predicted on %ld %@: step %.3g s, %.4g tokens/s, MFU %.3f, %.1f GiB per GPU%@", gpus, planner.deviceName,
                plan.time.step, plan.tokensPerSecond, plan.mfu, plan.memory.total / 1_073_741_824, plan.fits ? "" : " (does NOT fit)")
        } catch let error as ConfigError {
            return "no prediction: " + error.issues.filter { $0.severity == .error }.map(\.message).joined(separator: "; ")
        } catch {
            return "no prediction: \(error)"
        }
    }
}

/// `modalities benchmark list_remaining_runs`: Modalities' rules for which sweep configs still have to run.
struct ListRemainingRunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list_remaining_runs",
        abstract: "Write the configs of a sweep folder that still have to run into a file (Modalities' rules).")

    @Option(name: .customLong("exp_root"), help: "The sweep folder, results next to each config.") var experimentRoot: String
    @Option(name: .customLong("world_size"), help: "Only configs for this world size.") var worldSize: Int?
    @Option(name: .customLong("file_list_path"), help: "Where to write the list, one config path per line.") var fileListPath: String
    @Option(name: .customLong("expected_steps"), help: "Lines evaluation_results.jsonl has when a run is done.") var expectedSteps: Int
    @Flag(name: .customLong("create_new_folders_if_partially_done"), help: "Copy remaining configs into new <folder>_<time> folders.")
    var createNewFolders = false
    @Option(
        name: .customLong("skip_exception_types"),
        help: "Comma-separated error types (from error logs) that count as done, e.g. OutOfMemoryError.")
    var skipExceptionTypes = ""

    func run() throws {
        let status = SweepStatus(
            root: experimentRoot, worldSize: worldSize, expectedSteps: expectedSteps,
            skipExceptionTypes: skipExceptionTypes.split(separator: ",").map(String.init))
        if try status.allConfigs().isEmpty { note("no configs found under \(experimentRoot)") }
        let configs = try status.updatedConfigs(createNewFolders: createNewFolders)
        try configs.map { $0 + "\n" }.joined().write(toFile: fileListPath, atomically: true, encoding: .utf8)
        print("\(configs.count) run\(configs.count == 1 ? "" : "s") remaining: \(fileListPath)")
    }
}

/// `modalities sweep run`: runs a prepared sweep, resumable.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sweep", abstract: "Run prepared sweeps.", subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the configs of a sweep folder that are not done; stop it any time and start it again to go on.",
            discussion: """
                Finished runs are never repeated; interrupted or failed ones continue from their newest checkpoint. \
                Each run's folder (<experiments_root_path>/<world size>/<point>/) gets sweep_status.json, the \
                command's output (sweep_run.log) and error logs. Configs for N ranks run under `modalities launch`.
                """)

        @Argument(help: "The sweep folder prepare_sweep_configs wrote (<output_dir>/<sweep file name>).") var sweepDirectory: String
        @Option(name: .customLong("experiments_root_path"), help: "Where the runs' folders go.") var experimentsRootPath: String
        @Option(help: "Runs at a time.") var parallel = 1
        @Option(name: .customLong("skip_exception_types"), help: "Comma-separated error types that are not retried, e.g. OutOfMemoryError.")
        var skipExceptionTypes = ""
        @Option(
            name: .customLong("stop_after_steps"),
            help: "End each run after N optimizer steps, to try the sweep out; a later sweep run without it takes them to their targets.")
        var stopAfterSteps: Int?

        func validate() throws {
            if let stopAfterSteps, stopAfterSteps < 1 {
                throw ValidationError("--stop_after_steps must be 1 or more, found \(stopAfterSteps)")
            }
        }

        func run() throws {
            let runner = SweepRunner(
                sweepDirectory: sweepDirectory, experimentsRoot: experimentsRootPath,
                executable: URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path, parallel: parallel,
                skipExceptionTypes: skipExceptionTypes.split(separator: ",").map(String.init)
            ) { print("sweep: " + $0) }
            runner.stopAfterSteps = stopAfterSteps
            let summary = try runner.run()
            print(
                "sweep: \(summary.completed) completed, \(summary.alreadyDone) already done, \(summary.failed) failed, \(summary.skipped) skipped"
            )
            if summary.interrupted { throw ExitCode(130) }
            if summary.failed > 0 { throw ExitCode(1) }
        }
    }
}

/// `modalities report`: one HTML page comparing the runs of a folder.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Compare the runs under a folder in one self-contained HTML page (SVG plots, final metrics, config differences).")

    @Argument(help: "A folder of runs (each with evaluation_results.jsonl), e.g. a sweep's experiments root.") var experimentsRoot: String
    @Option(help: "The HTML file to write.") var output = "report.html"
    @Option(name: .customLong("png_dir"), help: "Also render every plot to PNG here with headless Chromium (when installed).")
    var pngDirectory: String?
    @Option(
        name: .customLong("plan_gpu"),
        help:
            "Put the tokens/s `modalities plan` predicts on this GPU (a100, h100, h200, b200) beside each run's measured mean (runs with a resolved config)."
    )
    var planGPU: String?

    func run() throws {
        var report = try ExperimentReport(root: experimentsRoot)
        if let planGPU {
            let planner = try RunPlanner(gpuFlag: "--plan_gpu", planGPU)
            for index in report.runs.indices {
                let run = report.runs[index]
                guard let path = run.resolvedConfigPath, let gpus = run.config["settings.cuda_env.world_size"].flatMap({ Int($0) }) else {
                    continue
                }
                do {
                    report.runs[index].predictedTokensPerSecond =
                        try planner.plan(configFile: path, gpus: gpus, environment: ProcessEnvironment.variables).plan.tokensPerSecond
                } catch {
                    note("\(run.name): no prediction: \(error)")
                }
            }
        }
        try report.write(to: output)
        print("wrote \(output) (\(report.runs.count) runs)")
        guard let pngDirectory else { return }
        guard let chromium = Chromium.find(environment: ProcessEnvironment.variables) else {
            note("no chromium on the PATH (Debian: apt-get install chromium); the HTML report has the plots as SVG")
            throw ExitCode(1)
        }
        for path in try report.exportPNGs(to: pngDirectory, chromium: chromium.executable) { print("wrote \(path)") }
    }
}
