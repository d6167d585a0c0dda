import Config

/// The `settings` block of a training config, with Modalities' field names and checks.
public struct TrainingSettings: Decodable, Sendable {
    public struct CudaEnv: Decodable, Sendable {
        public var localRank: Int
        public var worldSize: Int
        public var globalRank: Int

        enum CodingKeys: String, CodingKey { case localRank = "local_rank", worldSize = "world_size", globalRank = "global_rank" }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            localRank = try container.decode(Int.self, forKey: .localRank)
            worldSize = try container.decode(Int.self, forKey: .worldSize)
            globalRank = try container.decode(Int.self, forKey: .globalRank)
            try require(localRank >= 0, "local_rank must be 0 or greater, found \(localRank)")
            try require(worldSize >= 1, "world_size must be 1 or greater, found \(worldSize)")
            try require(
                globalRank >= 0 && globalRank < worldSize, "global_rank must be in 0..<world_size (\(worldSize)), found \(globalRank)")
        }
    }

    public struct StepProfile: Decodable, Sendable {
        public var gradientAccumulationSteps: Int
        public var localTrainMicroBatchSize: Int
        public var sequenceLength: Int
        /// Data-parallel ranks (Modalities 0.5.0 and main: usually a reference to `number_conversion/parallel_degree`
        /// over the device mesh's `dp_shard` and `dp_replicate`); nil in older configs, where every rank is one.
        public var dpDegree: Int?

        enum CodingKeys: String, CodingKey {
            case gradientAccumulationSteps = "gradient_accumulation_steps"
            case localTrainMicroBatchSize = "local_train_micro_batch_size"
            case sequenceLength = "sequence_length"
            case dpDegree = "dp_degree"
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            gradientAccumulationSteps = try container.decode(Int.self, forKey: .gradientAccumulationSteps)
            localTrainMicroBatchSize = try container.decode(Int.self, forKey: .localTrainMicroBatchSize)
            sequenceLength = try container.decode(Int.self, forKey: .sequenceLength)
            dpDegree = try container.decodeIfPresent(Int.self, forKey: .dpDegree)
            try require(
                gradientAccumulationSteps >= 1 && localTrainMicroBatchSize >= 1 && sequenceLength >= 1,
                "gradient_accumulation_steps, local_train_micro_batch_size and sequence_length must be 1 or greater")
            try require((dpDegree ?? 1) >= 1, "dp_degree must be 1 or greater, found \(dpDegree ?? 0)")
        }
    }

    public struct ConsistencyEnforcement: Decodable, Sendable {
        public var enforceTokensPerStepConsistency = true
        public var enforceLastStepLogged = true
        public var enforceLastStepEvaluated = true
        public var enforceLastStepCheckpointed = true
        /// Modalities main: too few tokens in the training dataset for the target is an error (else a warning).
        public var enforceEnoughTokensInDataset = true

        enum CodingKeys: String, CodingKey {
            case enforceTokensPerStepConsistency = "enforce_tokens_per_step_consistency"
            case enforceLastStepLogged = "enforce_last_step_logged"
            case enforceLastStepEvaluated = "enforce_last_step_evaluated"
            case enforceLastStepCheckpointed = "enforce_last_step_checkpointed"
            case enforceEnoughTokensInDataset = "enforce_enough_tokens_in_dataset"
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            enforceTokensPerStepConsistency = try container.decodeIfPresent(Bool.self, forKey: .enforceTokensPerStepConsistency) ?? true
            enforceLastStepLogged = try container.decodeIfPresent(Bool.self, forKey: .enforceLastStepLogged) ?? true
            enforceLastStepEvaluated = try container.decodeIfPresent(Bool.self, forKey: .enforceLastStepEvaluated) ?? true
            enforceLastStepCheckpointed = try container.decodeIfPresent(Bool.self, forKey: .enforceLastStepCheckpointed) ?? true
            enforceEnoughTokensInDataset = try container.decodeIfPresent(Bool.self, forKey: .enforceEnoughTokensInDataset) ?? true
        }
    }

    public struct Intervals: Decodable, Sendable {
        public var trainingLogIntervalInSteps: Int
        public var checkpointingIntervalInSteps: Int
        public var evaluationIntervalInSteps: Int

        enum CodingKeys: String, CodingKey {
            case trainingLogIntervalInSteps = "training_log_interval_in_steps"
            case checkpointingIntervalInSteps = "checkpointing_interval_in_steps"
            case evaluationIntervalInSteps = "evaluation_interval_in_steps"
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            trainingLogIntervalInSteps = try container.decode(Int.self, forKey: .trainingLogIntervalInSteps)
            checkpointingIntervalInSteps = try container.decode(Int.self, forKey: .checkpointingIntervalInSteps)
            evaluationIntervalInSteps = try container.decode(Int.self, forKey: .evaluationIntervalInSteps)
            try require(
                [trainingLogIntervalInSteps, checkpointingIntervalInSteps, evaluationIntervalInSteps].allSatisfy { $0 >= 1 },
                "every interval must be 1 step or more")
        }
    }

    public struct TrainingTarget: Decodable, Sendable {
        public var numTargetTokens: Int
        public var numTargetSteps: Int

        enum CodingKeys: String, CodingKey { case numTargetTokens = "num_target_tokens", numTargetSteps = "num_target_steps" }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            numTargetTokens = try container.decode(Int.self, forKey: .numTargetTokens)
            numTargetSteps = try container.decode(Int.self, forKey: .numTargetSteps)
            try require(numTargetTokens >= 1 && numTargetSteps >= 1, "num_target_tokens and num_target_steps must be 1 or greater")
        }
    }

    public struct TrainingProgress: Decodable, Sendable {
        public var globalNumSeenTokens: Int
        public var numSeenSteps: Int
        public var numSeenSamples: Int
        public var lastStep: Int

        enum CodingKeys: String, CodingKey {
            case globalNumSeenTokens = "global_num_seen_tokens", numSeenSteps = "num_seen_steps"
            case numSeenSamples = "num_seen_samples", lastStep = "last_step"
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            globalNumSeenTokens = try container.decode(Int.self, forKey: .globalNumSeenTokens)
            numSeenSteps = try container.decode(Int.self, forKey: .numSeenSteps)
            numSeenSamples = try container.decode(Int.self, forKey: .numSeenSamples)
            lastStep = try container.decode(Int.self, forKey: .lastStep)
            try require(
                globalNumSeenTokens >= 0 && numSeenSteps >= 0 && numSeenSamples >= 0 && lastStep >= -1,
                "training progress counts must be 0 or greater (last_step -1 or greater)")
        }
    }

    public var experimentID: String
    public var configFilePath: String
    public var referencingKeys: [String: String]
    public var cudaEnv: CudaEnv
    /// `paths` holds `checkpoint_saving_path` plus any other named paths.
    public var paths: [String: String]
    public var intervals: Intervals
    public var consistencyEnforcement: ConsistencyEnforcement
    public var stepProfile: StepProfile
    public var trainingTarget: TrainingTarget
    public var trainingProgress: TrainingProgress
    /// Under warmstart: `model_checkpoint_path` (+ `optimizer_checkpoint_path`) or `checkpoint_folder_path`.
    public var warmstartCheckpointPaths: [String: String]?
    /// Modalities main's `debugging` component (`debugging/settings`), by name; validated like any component.
    public var debuggingComponent: String?

    enum CodingKeys: String, CodingKey {
        case experimentID = "experiment_id", configFilePath = "config_file_path", referencingKeys = "referencing_keys"
        case cudaEnv = "cuda_env", paths, intervals, consistencyEnforcement = "consistency_enforcement"
        case stepProfile = "step_profile", trainingTarget = "training_target", trainingProgress = "training_progress"
        case warmstartCheckpointPaths = "warmstart_checkpoint_paths", debugging
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        experimentID = try container.decode(String.self, forKey: .experimentID)
        configFilePath = try container.decode(String.self, forKey: .configFilePath)
        referencingKeys = try container.decode([String: String].self, forKey: .referencingKeys)
        cudaEnv = try container.decode(CudaEnv.self, forKey: .cudaEnv)
        paths = try container.decode([String: String].self, forKey: .paths)
        intervals = try container.decode(Intervals.self, forKey: .intervals)
        consistencyEnforcement = try container.decode(ConsistencyEnforcement.self, forKey: .consistencyEnforcement)
        stepProfile = try container.decode(StepProfile.self, forKey: .stepProfile)
        trainingTarget = try container.decode(TrainingTarget.self, forKey: .trainingTarget)
        trainingProgress = try container.decode(TrainingProgress.self, forKey: .trainingProgress)
        warmstartCheckpointPaths = try container.decodeIfPresent([String: String].self, forKey: .warmstartCheckpointPaths)
        debuggingComponent = try container.decodeIfPresent(ComponentSlot<Any>.self, forKey: .debugging)?.componentName
        // Modalities' older configs name checkpoint_saving_path, 0.5.0 and main experiments_root_path (main requires
        // it); neither is needed here: the command line gives the experiments root.
        if let (key, _) = paths.first(where: { $0.value.isEmpty }) { throw ConfigValueError("paths.\(key) is empty") }
    }

    /// Data-parallel ranks: `step_profile.dp_degree`, or every rank in older configs without it.
    public var dataParallelDegree: Int { stepProfile.dpDegree ?? cudaEnv.worldSize }

    /// Tokens one optimizer step consumes: micro batch × sequence length × accumulation × data-parallel degree.
    public var tokensPerStep: Int {
        stepProfile.localTrainMicroBatchSize * stepProfile.sequenceLength * stepProfile.gradientAccumulationSteps * dataParallelDegree
    }

    /// Steps left to train.
    public var remainingSteps: Int { trainingTarget.numTargetSteps - trainingProgress.numSeenSteps }

    /// Modalities' consistency checks; each is an error or a warning as `consistency_enforcement` says.
    public func consistencyIssues(at location: SourceLocation) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func report(_ enforced: Bool, _ message: String, _ keyPath: String) {
            issues.append(ConfigIssue(.consistency, message, at: location, keyPath: keyPath, severity: enforced ? .error : .warning))
        }
        let remainingTokens = trainingTarget.numTargetTokens - trainingProgress.globalNumSeenTokens
        if remainingSteps <= 0 {
            report(
                true, "num_target_steps (\(trainingTarget.numTargetSteps)) must exceed num_seen_steps (\(trainingProgress.numSeenSteps))",
                "settings.training_target.num_target_steps")
            return issues
        }
        if remainingTokens != remainingSteps * tokensPerStep {
            let required = Double(remainingTokens) / Double(remainingSteps)
            report(
                consistencyEnforcement.enforceTokensPerStepConsistency,
                "the target needs \(required) tokens per step ((num_target_tokens - global_num_seen_tokens) / remaining steps), but the step profile gives \(tokensPerStep) (micro batch \(stepProfile.localTrainMicroBatchSize) × sequence length \(stepProfile.sequenceLength) × gradient accumulation \(stepProfile.gradientAccumulationSteps) × \(stepProfile.dpDegree == nil ? "world size" : "dp_degree") \(dataParallelDegree))",
                "settings.training_target")
        }
        let checks: [(Int, Bool, String, String)] = [
            (
                intervals.trainingLogIntervalInSteps, consistencyEnforcement.enforceLastStepLogged, "logged",
                "training_log_interval_in_steps"
            ),
            (
                intervals.evaluationIntervalInSteps, consistencyEnforcement.enforceLastStepEvaluated, "evaluated",
                "evaluation_interval_in_steps"
            ),
            (
                intervals.checkpointingIntervalInSteps, consistencyEnforcement.enforceLastStepCheckpointed, "checkpointed",
                "checkpointing_interval_in_steps"
            ),
        ]
        for (interval, enforced, verb, key) in checks where remainingSteps % interval != 0 {
            report(
                enforced,
                "the last step will not be \(verb): remaining steps (\(remainingSteps)) are not a multiple of \(key) (\(interval))",
                "settings.intervals.\(key)")
        }
        return issues
    }

    /// A short human-readable summary of what the run will do, as Modalities prints before training.
    public var report: String {
        """
        Training report
          target: \(trainingTarget.numTargetTokens) tokens in \(trainingTarget.numTargetSteps) steps
          step profile: micro batch \(stepProfile.localTrainMicroBatchSize) × sequence \(stepProfile.sequenceLength) × accumulation \(stepProfile.gradientAccumulationSteps) × data-parallel degree \(dataParallelDegree) = \(tokensPerStep) tokens per step
          progress: \(trainingProgress.numSeenSteps) steps, \(trainingProgress.globalNumSeenTokens) tokens seen; \(remainingSteps) steps to go
          intervals: log every \(intervals.trainingLogIntervalInSteps), evaluate every \(intervals.evaluationIntervalInSteps), checkpoint every \(intervals.checkpointingIntervalInSteps) steps
        """
    }
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ConfigValueError(message()) }
}
