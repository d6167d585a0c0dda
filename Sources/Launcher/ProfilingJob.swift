import Components
import Config
import Foundation
import Logging
import ModalitiesSchema
import Profiling
import Training

/// `modalities profile distributed`: Modalities' `ModalitiesProfilerStarter.run_distributed`. Every rank builds the
/// config's `steppable_component` and `profiler` and steps both as many times as the profiler's schedule needs;
/// rank 0 keeps a copy of the config in `<experiment_root_path>/<experiment id>/`, which the config sees as
/// `${modalities_env:experiments_root_path}`.
public struct ProfilingJob {
    public var options: TrainingJob.Options

    public init(options: TrainingJob.Options) { self.options = options }

    /// Runs the profile; returns the experiment folder.
    @discardableResult
    public func run() throws -> String {
        let rank = try TrainingJob.Rank(options)
        var experimentID = options.experimentID ?? ExperimentID.make(configFilePath: options.configFilePath)
        if let group = rank.group { experimentID = try group.broadcast(experimentID) }
        let experimentFolder = options.experimentsRootPath + "/" + experimentID
        if rank.isRankZero {
            try FileManager.default.createDirectory(atPath: experimentFolder, withIntermediateDirectories: true)
            let copy = experimentFolder + "/" + URL(fileURLWithPath: options.configFilePath).lastPathComponent
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: options.configFilePath, toPath: copy)
        }
        let environment = ResolverEnvironment(
            configFilePath: options.configFilePath, experimentsRootPath: experimentFolder, experimentID: experimentID,
            variables: rank.variables)
        var validator = ConfigValidator.builtIn(environment: environment, log: rank.log)
        validator.registry = options.registry
        validator.buildEnvironment = BuildEnvironment(run: rank.context)
        let result = try validator.validate(try ConfigLoader.load(file: options.configFilePath), for: .profile)
        if rank.isRankZero { for warning in result.warnings { options.logger.warning("\(warning.description)") } }
        let component = try result.graph.build("steppable_component", as: (any SteppableComponent).self)
        let profiler = try result.graph.build("profiler", as: (any SteppableProfiler).self)
        guard profiler.stepCount >= 0 else {
            throw LaunchError.invalid("the profiler runs for any number of steps (no_profiler): give a profiler with a schedule")
        }
        rank.log("profiling \(profiler.stepCount) steps: \(experimentFolder)")
        try profiler.enter()
        do {
            for step in stride(from: 1, through: profiler.stepCount, by: 1) {
                try component.step()
                try profiler.step()
                rank.log("profiling step \(step)/\(profiler.stepCount)")
            }
        } catch {
            try? profiler.exit()
            throw error
        }
        try profiler.exit()
        try rank.group?.barrier()
        return experimentFolder
    }
}
