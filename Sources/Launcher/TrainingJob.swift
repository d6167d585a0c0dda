import Checkpointing
import Components
import Config
import DataLoading
import Distributed
import Foundation
import Logging
import ModalitiesSchema
import Models
import Observability
import Parallelism
import Torch
import Training

/// `modalities run` and `modalities warmstart`: resolves and validates a training config, prepares the experiment
/// folder, builds the object graph and hands it to the generic driver (``Gym``).
public final class TrainingJob {
    public struct Options {
        public var configFilePath: String
        public var experimentsRootPath: String
        public var experimentID: String?
        /// Warmstart: the `last_checkpoint_info.json` naming the checkpoint to continue from.
        public var lastCheckpointInfoFilePath: String?
        /// A checkpoint folder of this run to continue from with the run config itself (see ``RunResumption``).
        public var resumeFromCheckpoint: String?
        /// Process environment (`${cuda_env:...}`, `${oc.env:...}`); rank variables default to one process.
        public var environment: [String: String]
        public var registry: ComponentRegistry
        /// Where progress lines, warnings and result summaries go (swift-log; the CLI prefixes the rank).
        public var logger: Logger
        /// Whether rank 0 logs a summary line of every result (as Modalities prints them).
        public var echoResults: Bool
        /// Where the model trains (``DeviceChoice/automatic``: the rank's GPU when the machine has one).
        public var device: DeviceChoice = .automatic
        /// Ends this run after this many optimizer steps, short of the config's target (whose schedule and progress
        /// stay as configured); a multiple of the checkpointing interval leaves a checkpoint to warm-start from.
        public var stopAfterSteps: Int?
        /// `key.path=value` replacements applied to the loaded config before interpolation (`--override`).
        public var overrides: [ConfigOverride] = []
        /// Checks the ranks' collectives before training (Modalities' `--test_comm`): an all-reduce whose sum
        /// must equal the world size, then a barrier.
        public var testCommunication = false

        public init(
            configFilePath: String, experimentsRootPath: String, experimentID: String? = nil, lastCheckpointInfoFilePath: String? = nil,
            environment: [String: String], registry: ComponentRegistry = .builtIn(),
            echoResults: Bool = true, logger: Logger = Logger(label: "modalities.run")
        ) {
            self.echoResults = echoResults
            self.configFilePath = configFilePath
            self.experimentsRootPath = experimentsRootPath
            self.experimentID = experimentID
            self.lastCheckpointInfoFilePath = lastCheckpointInfoFilePath
            self.environment = environment
            self.registry = registry
            self.logger = logger
        }
    }

    /// What a finished run leaves behind.
    public struct Summary {
        public var experimentID: String
        public var experimentFolder: String
        public var settings: TrainingSettings
        public var progress: TrainingProgress
        /// The checkpoint the run started from (warmstart).
        public var startedFrom: String?
        /// Seconds the training loop waited for data.
        public var dataWaitSeconds: Double
        public var trainingSeconds: Double
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    public func run() throws -> Summary {
        let logger = options.logger
        let rank = try Rank(options)
        let group = rank.group
        let isRankZero = rank.isRankZero
        let log = rank.log
        if options.testCommunication { try Self.testCommunication(group, device: rank.device, log: log) }
        // Every rank uses rank 0's id (its clock and the path hashed there).
        if let given = options.experimentID { try Self.checkExperimentID(given) }
        var experimentID = options.experimentID ?? ExperimentID.make(configFilePath: options.configFilePath)
        if let group { experimentID = try group.broadcast(experimentID) }
        var checkpointPaths: [(key: String, value: String)]?
        if let infoPath = options.lastCheckpointInfoFilePath { checkpointPaths = try Self.readCheckpointInfo(infoPath) }
        let (result, settings) = try validatedConfig(rank: rank, experimentID: experimentID, checkpointPaths: checkpointPaths)

        let resolvedYAML = ConfigEmitter.yaml(result.resolved)
        let experimentFolder =
            isRankZero
            ? try prepareExperimentFolder(settings: settings, experimentID: experimentID, resolvedYAML: resolvedYAML)
            : (settings.paths["experiments_root_path"] ?? options.experimentsRootPath) + "/" + experimentID
        log("experiment \(experimentID): \(experimentFolder)")
        let components = try TrainingComponents(result)
        let outputs = try TrainingComponents.Outputs(result)
        let (appState, loss, trainLoader, clipper) = (components.appState, components.loss, components.trainLoader, components.clipper)
        let (mfu, mesh) = (components.mfuCalculator, components.deviceMesh)
        let (evaluationLoaders, progressSubscriber, checkpointSaving) = (
            outputs.evaluationLoaders, outputs.progressSubscriber, outputs.checkpointSaving
        )
        let resultSubscriber: any ResultSubscriber =
            settings.cudaEnv.globalRank == 0 && options.echoResults
            ? EchoingResultSubscriber(wrapping: outputs.evaluationSubscriber, write: log) : outputs.evaluationSubscriber
        if let mesh, mesh.deviceType == "cuda", rank.device.kind != .cuda, isRankZero {
            // Modalities' configs say cuda; on a machine without a GPU (or with --device cpu) the same config trains
            // on the CPU ranks, as --device auto does for the model.
            logger.warning(
                "device_mesh.device_type is cuda, but the ranks run on the CPU (\(options.device == .cpu ? "--device cpu" : "no GPU here")): training on the CPU"
            )
        }
        if let mesh, mesh.deviceType == "cpu", rank.device.kind == .cuda, isRankZero {
            // torch's mesh would be Gloo-only; here each collective follows its tensors, NCCL for the GPU's.
            logger.warning(
                "device_mesh.device_type is cpu, but the ranks run on GPUs: collectives on CUDA tensors go through NCCL (--device cpu trains on the CPU)"
            )
        }
        if let saver = checkpointSaving as? CheckpointSaver {
            saver.writer.extraMetadata["config_file_name"] = URL(fileURLWithPath: options.configFilePath).lastPathComponent
            saver.writer.extraMetadata["resolved_config"] = resolvedYAML
        }

        let dataParallelDegree = mesh?.dataParallelDegree ?? settings.dataParallelDegree
        let progress = TrainingProgress(
            numSeenStepsPreviousRun: settings.trainingProgress.numSeenSteps,
            numSeenTokensPreviousRun: settings.trainingProgress.globalNumSeenTokens,
            numTargetSteps: settings.trainingTarget.numTargetSteps,
            numTargetTokens: settings.trainingTarget.numTargetTokens)
        let trainer = try Trainer(
            globalRank: settings.cudaEnv.globalRank, gradientAccumulationSteps: settings.stepProfile.gradientAccumulationSteps,
            globalTokensPerStep: settings.tokensPerStep, dataParallelDegree: dataParallelDegree, progress: progress,
            clipper: clipper, mfuCalculator: mfu, progressSubscriber: progressSubscriber, resultSubscriber: resultSubscriber)
        trainer.group = group
        trainer.pipeline = components.pipeline
        trainer.profiler = outputs.profiler
        trainer.stopAfterSteps = options.stopAfterSteps
        trainer.log = log
        let evaluator = Evaluator(
            dataParallelDegree: dataParallelDegree, progressSubscriber: progressSubscriber, resultSubscriber: resultSubscriber)
        evaluator.group = group
        evaluator.pipeline = components.pipeline
        let parameterCount = appState.model.parameterCount
        try resultSubscriber.consume(facts: [("No. parameters", .integer(parameterCount))])
        log("training a model with \(parameterCount) parameters")
        if let source = appState.loadedFrom { log("continuing from \(source)") }
        if let mixed = appState.model.unwrapped(as: MixedPrecisionModel.self), mixed.computeDType == .bfloat16,
            mixed.parameters.named.first?.tensor.device == .cpu, !Runtime.cpuHasBF16Arithmetic
        {
            logger.warning(
                Runtime.cpuBF16MatmulsUseFloat32
                    ? "param_dtype BF_16 on a CPU without native bf16 (AVX512-BF16/AMX): its matrix products run as float32 GEMMs, so expect no speed-up over FP_32"
                    : "param_dtype BF_16 on a CPU without native bf16 (AVX512-BF16/AMX): libtorch emulates it, expect steps many times slower than FP_32"
            )
        }
        log(settings.report)

        let start = Date()
        try Gym(trainer: trainer, evaluator: evaluator, loss: loss).run(
            appState: appState, trainLoader: trainLoader, evaluationLoaders: evaluationLoaders, checkpointSaving: checkpointSaving,
            logInterval: settings.intervals.trainingLogIntervalInSteps,
            checkpointingInterval: settings.intervals.checkpointingIntervalInSteps,
            evaluationInterval: settings.intervals.evaluationIntervalInSteps)
        try resultSubscriber.finish()
        var finalProgress = progress
        finalProgress.numSeenStepsCurrentRun = trainer.stepsThisRun
        finalProgress.numSeenTokensCurrentRun = finalProgress.numSeenStepsCurrentRun * settings.tokensPerStep
        return Summary(
            experimentID: experimentID, experimentFolder: experimentFolder, settings: settings, progress: finalProgress,
            startedFrom: appState.loadedFrom, dataWaitSeconds: trainer.dataWaitSeconds, trainingSeconds: Date().timeIntervalSince(start))
    }

    /// `<experiments root>/<id>/` with the config copied in, the resolved config next to it (`<name>.resolved`) and the
    /// `--override`s, when there are any (`<name>.overrides`).
    private func prepareExperimentFolder(settings: TrainingSettings, experimentID: String, resolvedYAML: String) throws -> String {
        let root = settings.paths["experiments_root_path"] ?? options.experimentsRootPath
        let folder = root + "/" + experimentID
        let configName = URL(fileURLWithPath: options.configFilePath).lastPathComponent
        let manager = FileManager.default
        if let present = try? manager.contentsOfDirectory(atPath: folder), present.contains(where: { $0 != configName }) {
            options.logger.warning("the experiment folder \(folder) already holds \(present.sorted().joined(separator: ", "))")
        }
        do {
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let copy = folder + "/" + configName
            if URL(fileURLWithPath: copy).standardizedFileURL != URL(fileURLWithPath: options.configFilePath).standardizedFileURL {
                if manager.fileExists(atPath: copy) { try manager.removeItem(atPath: copy) }
                try manager.copyItem(atPath: options.configFilePath, toPath: copy)
            }
            try resolvedYAML.write(toFile: copy + ".resolved", atomically: true, encoding: .utf8)
            // The copy is the file as written; what --override changed is listed beside it (and is in the resolved one).
            if !options.overrides.isEmpty {
                try (options.overrides.map(\.description).joined(separator: "\n") + "\n")
                    .write(toFile: copy + ".overrides", atomically: true, encoding: .utf8)
            }
        } catch {
            throw LaunchError.invalid("cannot prepare the experiment folder \(folder): \(error.localizedDescription)")
        }
        return folder
    }

    /// An experiment id names one folder under the experiments root: one path component, not `.` or `..`, so a run
    /// never writes outside the root it was given.
    static func checkExperimentID(_ id: String) throws {
        guard !id.isEmpty, !id.contains("/"), id != ".", id != "..", !id.contains("\0") else {
            throw LaunchError.invalid("--experiment_id '\(id)' must name one folder under the experiments root (no '/', not '.' or '..')")
        }
    }

    /// `--test_comm`: every rank all-reduces a one; the sum must be the world size. Then a barrier.
    static func testCommunication(_ group: ProcessGroup?, device: Device, log: (String) -> Void) throws {
        let size = group?.size ?? 1
        let ones = try Tensor.ones([1], device: device)
        try group?.allReduce(ones)
        let sum = try ones.to(device: .cpu).item(Double.self)
        guard sum == Double(size) else {
            throw LaunchError.invalid("communication test failed: an all-reduce of one per rank gave \(sum), expected \(size)")
        }
        try group?.barrier()
        log("communication test succeeded (\(size) rank\(size == 1 ? "" : "s"))")
    }

    /// The mapping in a `last_checkpoint_info.json` (`checkpoint_folder_path`, or model/optimizer paths).
    public static func readCheckpointInfo(_ path: String) throws -> [(key: String, value: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LaunchError.invalid("\(path): cannot read the last checkpoint info file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LaunchError.invalid("\(path): not a JSON object")
        }
        let entries = object.compactMap { key, value in (value as? String).map { (key: key, value: $0) } }.sorted { $0.key < $1.key }
        guard !entries.isEmpty else { throw LaunchError.invalid("\(path): names no checkpoint (expected checkpoint_folder_path)") }
        return entries
    }
}

/// A run that cannot start.
public enum LaunchError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let message): return message
        }
    }
}

/// Where a training job runs.
public enum DeviceChoice: String, Sendable, CaseIterable {
    /// The rank's GPU (`cuda:LOCAL_RANK`) when the machine has an NVIDIA device and CUDA loads, else the CPU.
    case automatic = "auto"
    case cpu
    /// The rank's GPU, or an error saying why there is none.
    case cuda
}

extension TrainingJob {
    /// The device of this rank for `choice`; loads CUDA when a GPU is wanted or seen, and makes the rank's GPU
    /// current before any other CUDA work (several ranks on GPUs talk through NCCL, see ``ProcessGroup``).
    public static func trainingDevice(_ choice: DeviceChoice, localRank: Int, environment: [String: String], logger: Logger) throws
        -> Device
    {
        guard choice == .cuda || (choice == .automatic && CUDA.driverNodeExists) else { return .cpu }
        do {
            try CUDA.load()
        } catch {
            if choice == .cuda { throw LaunchError.invalid("--device cuda: \(error)") }
            logger.warning("an NVIDIA device is present but CUDA did not load (\(error)); training on the CPU")
            return .cpu
        }
        let binding: GPUBinding
        do {
            binding = try GPUBinding(
                localRank: localRank, visibleDevices: CUDA.deviceCount, visibleDeviceList: environment["CUDA_VISIBLE_DEVICES"])
        } catch {
            if choice == .cuda { throw LaunchError.invalid("--device cuda: \(error)") }
            // One rank on the CPU beside others on GPUs cannot share their collectives (with no GPU visible at all,
            // as CUDA_VISIBLE_DEVICES="" makes it, every rank falls back alike).
            if CUDA.deviceCount > 0, (Int(environment["WORLD_SIZE"] ?? "") ?? 1) > 1 { throw LaunchError.invalid("\(error)") }
            logger.warning("\(error); training on the CPU")
            return .cpu
        }
        let device = Device.cuda(binding.deviceIndex)
        try Accelerator.setCurrent(device)
        return device
    }
}

extension TrainingJob {
    /// This process's place in the job: its rank variables (defaults for one process), device and group.
    struct Rank {
        /// This rank's place, device and group: what the components are built with, explicitly.
        let context: RunContext
        let log: (String) -> Void
        var variables: [String: String] { context.environment }
        var device: Device { context.device }
        var group: ProcessGroup? { context.worldGroup }
        var isRankZero: Bool { context.isRankZero }

        /// Loads CUDA when wanted (before anything else touches libtorch), then joins the process group.
        init(_ options: Options) throws {
            var variables = options.environment
            for (name, value) in [("LOCAL_RANK", "0"), ("RANK", "0"), ("WORLD_SIZE", "1")] where variables[name] == nil {
                variables[name] = value
            }
            let localRank = Int(variables["LOCAL_RANK"] ?? "") ?? 0
            let device = try TrainingJob.trainingDevice(
                options.device, localRank: localRank, environment: variables, logger: options.logger)
            let group = try ProcessGroup.fromEnvironment(variables, device: device)
            context = RunContext(
                rank: group?.rank ?? 0, localRank: localRank, worldSize: group?.size ?? 1,
                localWorldSize: Int(variables["LOCAL_WORLD_SIZE"] ?? ""), device: device, worldGroup: group,
                environment: variables)
            let logger = options.logger
            let isRankZero = context.isRankZero
            log = { message in if isRankZero { logger.info("\(message)") } }
            if device.kind == .cuda {
                let collectives = group.map { $0.usesNCCL ? ", collectives through NCCL \((try? ProcessGroup.ncclVersion()) ?? "")" : "" } ?? ""
                log("training on \(device): \((try? CUDA.deviceProperties(device.index ?? 0).name) ?? "GPU")\(collectives)")
            }
        }
    }

    /// The job's config resolved for this rank and validated (rank 0 logs the warnings).
    func validatedConfig(
        rank: Rank, experimentID: String, checkpointPaths: [(key: String, value: String)]?
    ) throws
        -> (result: ConfigValidator.Result, settings: TrainingSettings)
    {
        let environment = ResolverEnvironment(
            configFilePath: options.configFilePath, experimentsRootPath: options.experimentsRootPath,
            experimentID: experimentID, variables: rank.variables, warmstartCheckpointPaths: checkpointPaths)
        var validator = ConfigValidator.builtIn(environment: environment, log: rank.log)
        validator.registry = options.registry
        validator.buildEnvironment = BuildEnvironment(run: rank.context)
        var root = try ConfigLoader.load(file: options.configFilePath)
        for override in options.overrides {
            do {
                root = try override.applied(to: root)
            } catch let error as ConfigValueError {
                throw LaunchError.invalid("\(options.configFilePath): \(error.message)")
            }
        }
        if let checkpoint = options.resumeFromCheckpoint {
            root = try RunResumption.config(root, resumingFrom: checkpoint, environment: environment)
        }
        let result = try validator.validate(root, for: checkpointPaths == nil ? .run : .warmstart)
        if rank.isRankZero { for warning in result.warnings { options.logger.warning("\(warning.description)") } }
        guard let settings = result.settings else { throw LaunchError.invalid("the config has no usable settings block") }
        guard settings.cudaEnv.worldSize == (rank.group?.size ?? 1) else {
            throw LaunchError.invalid(
                "settings.cuda_env.world_size is \(settings.cudaEnv.worldSize) but the job runs \(rank.group?.size ?? 1) rank(s)")
        }
        return (result, settings)
    }
}
