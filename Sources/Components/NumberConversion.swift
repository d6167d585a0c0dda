import Config
import DataFormats
import DataLoading
import Observability

/// Modalities' `number_conversion` components: step, sample, batch and token counts derived from each other
/// or from a checkpoint folder's name, so configs can state one quantity and derive the rest.
public enum NumberConversion {
    /// Samples each rank sees, in whole micro batches: `samples / ranks / micro batch`.
    public static func localNumBatches(numRanks: Int, globalNumSamples: Int, localMicroBatchSize: Int) -> Int {
        globalNumSamples / numRanks / localMicroBatchSize
    }

    public static func localNumBatches(numRanks: Int, globalNumTokens: Int, sequenceLength: Int, localMicroBatchSize: Int) -> Int {
        localNumBatches(numRanks: numRanks, globalNumSamples: globalNumTokens / sequenceLength, localMicroBatchSize: localMicroBatchSize)
    }

    public static func numSteps(numRanks: Int, localMicroBatchSize: Int, globalNumSamples: Int, gradientAccumulationSteps: Int) -> Int {
        globalNumSamples / numRanks / localMicroBatchSize / gradientAccumulationSteps
    }

    public static func numSteps(
        numRanks: Int, localMicroBatchSize: Int, globalNumTokens: Int, sequenceLength: Int,
        gradientAccumulationSteps: Int
    ) -> Int {
        numSteps(
            numRanks: numRanks, localMicroBatchSize: localMicroBatchSize, globalNumSamples: globalNumTokens / sequenceLength,
            gradientAccumulationSteps: gradientAccumulationSteps)
    }

    /// Tokens consumed by `numSteps` optimizer steps.
    public static func numTokens(
        numSteps: Int, numRanks: Int, localMicroBatchSize: Int, sequenceLength: Int,
        gradientAccumulationSteps: Int
    ) -> Int {
        numSteps * numRanks * localMicroBatchSize * sequenceLength * gradientAccumulationSteps
    }

    /// The number after `label_` in a checkpoint path such as `.../eid_x-seen_steps_11-seen_tokens_2816-...`.
    public static func value(_ label: String, inCheckpointPath path: String) throws -> Int {
        do {
            return try CheckpointFolderName.number(after: label, inPath: path)
        } catch let error as CheckpointFolderName.ReadError {
            throw NumberConversionError.checkpointPath(path: path, label: label, matches: error.matches)
        }
    }

    /// Steps a warmstarted run must reach: target tokens divided by tokens per step (seen tokens / seen steps).
    public static func numTargetSteps(checkpointPath: String) throws -> Int {
        let seenSteps = try value("seen_steps", inCheckpointPath: checkpointPath)
        let seenTokens = try value("seen_tokens", inCheckpointPath: checkpointPath)
        let targetTokens = try value("target_tokens", inCheckpointPath: checkpointPath)
        guard seenSteps > 0, seenTokens % seenSteps == 0 else {
            throw NumberConversionError.inconsistent(
                "\(seenTokens) seen tokens are not a whole number per step over \(seenSteps) steps in \(checkpointPath)")
        }
        let tokensPerStep = seenTokens / seenSteps
        guard targetTokens % tokensPerStep == 0 else {
            throw NumberConversionError.inconsistent(
                "\(targetTokens) target tokens are not a whole number of steps of \(tokensPerStep) tokens in \(checkpointPath)")
        }
        return targetTokens / tokensPerStep
    }
}

/// A number could not be derived.
public enum NumberConversionError: Error, CustomStringConvertible {
    case checkpointPath(path: String, label: String, matches: Int)
    case inconsistent(String)

    public var description: String {
        switch self {
        case let .checkpointPath(path, label, matches):
            return "expected exactly one '\(label)_<number>' in checkpoint path \(path), found \(matches)"
        case let .inconsistent(message):
            return message
        }
    }
}

// MARK: - Configs (field names as Modalities')

/// The data-parallel degree of a number conversion: `dp_degree` in Modalities 0.5.0 and main (for the conversions
/// that have it there), `num_ranks` in its earlier releases and its other conversions. Either name is accepted.
protocol DataParallelDegreeField {
    var dpDegree: PositiveInt? { get }
    var numRanks: PositiveInt? { get }
}

extension DataParallelDegreeField {
    /// The degree under whichever name the config gives; exactly one of them.
    func dataParallelDegree() throws -> Int {
        switch (dpDegree, numRanks) {
        case let (degree?, nil): return degree.value
        case let (nil, ranks?): return ranks.value
        case (.some, .some):
            throw ConfigValueError("give dp_degree or num_ranks, not both (num_ranks is the older name of the same number)")
        case (nil, nil): throw ConfigValueError("missing required key 'dp_degree' (named num_ranks in configs before Modalities 0.5)")
        }
    }
}

struct LocalNumBatchesFromNumSamplesConfig: Decodable, DataParallelDegreeField {
    var dpDegree: PositiveInt?
    var numRanks: PositiveInt?
    var globalNumSamples: NonNegativeInt
    var localMicroBatchSize: PositiveInt

    enum CodingKeys: String, CodingKey {
        case dpDegree = "dp_degree", numRanks = "num_ranks", globalNumSamples = "global_num_samples", localMicroBatchSize =
            "local_micro_batch_size"
    }
}

struct LocalNumBatchesFromNumTokensConfig: Decodable, DataParallelDegreeField {
    var dpDegree: PositiveInt?
    var numRanks: PositiveInt?
    var globalNumTokens: NonNegativeInt
    var sequenceLength: PositiveInt
    var localMicroBatchSize: PositiveInt

    enum CodingKeys: String, CodingKey {
        case dpDegree = "dp_degree", numRanks = "num_ranks", globalNumTokens = "global_num_tokens", sequenceLength = "sequence_length"
        case localMicroBatchSize = "local_micro_batch_size"
    }
}

struct NumSamplesFromNumTokensConfig: Decodable {
    var numTokens: NonNegativeInt
    var sequenceLength: PositiveInt

    enum CodingKeys: String, CodingKey { case numTokens = "num_tokens", sequenceLength = "sequence_length" }
}

struct NumStepsFromNumSamplesConfig: Decodable, DataParallelDegreeField {
    var dpDegree: PositiveInt?
    var numRanks: PositiveInt?
    var localMicroBatchSize: PositiveInt
    var globalNumSamples: NonNegativeInt
    var gradientAccumulationSteps: PositiveInt

    enum CodingKeys: String, CodingKey {
        case dpDegree = "dp_degree", numRanks = "num_ranks", localMicroBatchSize = "local_micro_batch_size", globalNumSamples =
            "global_num_samples"
        case gradientAccumulationSteps = "gradient_accumulation_steps"
    }
}

struct NumStepsFromNumTokensConfig: Decodable, DataParallelDegreeField {
    var dpDegree: PositiveInt?
    var numRanks: PositiveInt?
    var localMicroBatchSize: PositiveInt
    var globalNumTokens: NonNegativeInt
    var sequenceLength: PositiveInt
    var gradientAccumulationSteps: PositiveInt

    enum CodingKeys: String, CodingKey {
        case dpDegree = "dp_degree", numRanks = "num_ranks", localMicroBatchSize = "local_micro_batch_size", globalNumTokens =
            "global_num_tokens"
        case sequenceLength = "sequence_length", gradientAccumulationSteps = "gradient_accumulation_steps"
    }
}

struct NumTokensFromNumStepsConfig: Decodable, DataParallelDegreeField {
    var numSteps: NonNegativeInt
    var dpDegree: PositiveInt?
    var numRanks: PositiveInt?
    var localMicroBatchSize: PositiveInt
    var sequenceLength: PositiveInt
    var gradientAccumulationSteps: PositiveInt

    enum CodingKeys: String, CodingKey {
        case numSteps = "num_steps", dpDegree = "dp_degree", numRanks = "num_ranks", localMicroBatchSize = "local_micro_batch_size"
        case sequenceLength = "sequence_length", gradientAccumulationSteps = "gradient_accumulation_steps"
    }
}

struct NumStepsFromRawDatasetIndexConfig: Decodable, DataParallelDegreeField {
    var rawIndexPath: String
    var dpDegree: PositiveInt?
    var numRanks: PositiveInt?
    var localMicroBatchSize: PositiveInt
    var gradientAccumulationSteps: PositiveInt

    enum CodingKeys: String, CodingKey {
        case rawIndexPath = "raw_index_path", dpDegree = "dp_degree", numRanks = "num_ranks", localMicroBatchSize = "local_micro_batch_size"
        case gradientAccumulationSteps = "gradient_accumulation_steps"
    }
}

struct NumTokensFromPackedContinuousDatasetConfig: Decodable, DataParallelDegreeField {
    var datasetPath: String
    var sequenceLength: PositiveInt
    var dpDegree: PositiveInt?
    var numRanks: PositiveInt?
    var localMicroBatchSize: PositiveInt
    var gradientAccumulationSteps: PositiveInt
    /// Main's dataset fields: they decide how many samples the file holds (`reuse_last_target` overlaps blocks by one
    /// token); `sample_key` only names the samples.
    var sampleKey: String?
    var reuseLastTarget: Bool?

    enum CodingKeys: String, CodingKey {
        case datasetPath = "dataset_path", sequenceLength = "sequence_length", dpDegree = "dp_degree", numRanks = "num_ranks"
        case localMicroBatchSize = "local_micro_batch_size", gradientAccumulationSteps = "gradient_accumulation_steps"
        case sampleKey = "sample_key", reuseLastTarget = "reuse_last_target"
    }
}

struct NumberConversionFromCheckpointPathConfig: Decodable {
    var checkpointPath: String

    enum CodingKeys: String, CodingKey { case checkpointPath = "checkpoint_path" }
}

extension ComponentRegistry {
    /// Registers the `number_conversion` variants that need nothing but numbers and paths.
    func registerNumberConversions() {
        let key = "number_conversion"
        register(
            key, "local_num_batches_from_num_samples", summary: "samples / ranks / micro batch",
            config: LocalNumBatchesFromNumSamplesConfig.self, produces: [Int.self]
        ) { config, _ in
            NumberConversion.localNumBatches(
                numRanks: try config.dataParallelDegree(), globalNumSamples: config.globalNumSamples.value,
                localMicroBatchSize: config.localMicroBatchSize.value)
        }
        register(
            key, "local_num_batches_from_num_tokens", summary: "tokens / sequence length / ranks / micro batch",
            config: LocalNumBatchesFromNumTokensConfig.self, produces: [Int.self]
        ) { config, _ in
            NumberConversion.localNumBatches(
                numRanks: try config.dataParallelDegree(), globalNumTokens: config.globalNumTokens.value,
                sequenceLength: config.sequenceLength.value, localMicroBatchSize: config.localMicroBatchSize.value)
        }
        register(
            key, "num_samples_from_num_tokens", summary: "tokens / sequence length",
            config: NumSamplesFromNumTokensConfig.self, produces: [Int.self]
        ) { config, _ in
            config.numTokens.value / config.sequenceLength.value
        }
        register(
            key, "num_steps_from_num_samples", summary: "samples / ranks / micro batch / accumulation",
            config: NumStepsFromNumSamplesConfig.self, produces: [Int.self]
        ) { config, _ in
            NumberConversion.numSteps(
                numRanks: try config.dataParallelDegree(), localMicroBatchSize: config.localMicroBatchSize.value,
                globalNumSamples: config.globalNumSamples.value,
                gradientAccumulationSteps: config.gradientAccumulationSteps.value)
        }
        register(
            key, "num_steps_from_num_tokens", summary: "tokens / sequence length / ranks / micro batch / accumulation",
            config: NumStepsFromNumTokensConfig.self, produces: [Int.self]
        ) { config, _ in
            NumberConversion.numSteps(
                numRanks: try config.dataParallelDegree(), localMicroBatchSize: config.localMicroBatchSize.value,
                globalNumTokens: config.globalNumTokens.value, sequenceLength: config.sequenceLength.value,
                gradientAccumulationSteps: config.gradientAccumulationSteps.value)
        }
        register(
            key, "num_tokens_from_num_steps", summary: "steps × ranks × micro batch × sequence length × accumulation",
            config: NumTokensFromNumStepsConfig.self, produces: [Int.self]
        ) { config, _ in
            NumberConversion.numTokens(
                numSteps: config.numSteps.value, numRanks: try config.dataParallelDegree(),
                localMicroBatchSize: config.localMicroBatchSize.value, sequenceLength: config.sequenceLength.value,
                gradientAccumulationSteps: config.gradientAccumulationSteps.value)
        }
        register(
            key, "num_steps_from_raw_dataset_index", summary: "lines in a raw JSONL index / ranks / micro batch / accumulation",
            config: NumStepsFromRawDatasetIndexConfig.self, produces: [Int.self]
        ) { config, _ in
            NumberConversion.numSteps(
                numRanks: try config.dataParallelDegree(), localMicroBatchSize: config.localMicroBatchSize.value,
                globalNumSamples: try RawIndex.read(config.rawIndexPath).count,
                gradientAccumulationSteps: config.gradientAccumulationSteps.value)
        }
        register(
            key, "num_tokens_from_packed_mem_map_dataset_continuous",
            summary: "tokens training will use from a .pbin: whole steps of its blocks",
            config: NumTokensFromPackedContinuousDatasetConfig.self, produces: [Int.self]
        ) { config, _ in
            let dataset = try PackedContinuousDataset(
                path: config.datasetPath, sequenceLength: config.sequenceLength.value,
                sampleKey: config.sampleKey ?? "text", reuseLastTarget: config.reuseLastTarget ?? true)
            let steps = NumberConversion.numSteps(
                numRanks: try config.dataParallelDegree(), localMicroBatchSize: config.localMicroBatchSize.value,
                globalNumTokens: dataset.count * config.sequenceLength.value,
                sequenceLength: config.sequenceLength.value,
                gradientAccumulationSteps: config.gradientAccumulationSteps.value)
            return NumberConversion.numTokens(
                numSteps: steps, numRanks: try config.dataParallelDegree(),
                localMicroBatchSize: config.localMicroBatchSize.value,
                sequenceLength: config.sequenceLength.value,
                gradientAccumulationSteps: config.gradientAccumulationSteps.value)
        }
        let fromPath: [(String, String, (String) throws -> Int)] = [
            (
                "last_step_from_checkpoint_path", "seen_steps_N in the path, minus one",
                { try NumberConversion.value("seen_steps", inCheckpointPath: $0) - 1 }
            ),
            (
                "num_seen_steps_from_checkpoint_path", "seen_steps_N in the path",
                { try NumberConversion.value("seen_steps", inCheckpointPath: $0) }
            ),
            (
                "global_num_seen_tokens_from_checkpoint_path", "seen_tokens_N in the path",
                { try NumberConversion.value("seen_tokens", inCheckpointPath: $0) }
            ),
            (
                "global_num_target_tokens_from_checkpoint_path", "target_tokens_N in the path",
                { try NumberConversion.value("target_tokens", inCheckpointPath: $0) }
            ),
            (
                "num_target_steps_from_checkpoint_path", "target tokens / (seen tokens / seen steps)",
                { try NumberConversion.numTargetSteps(checkpointPath: $0) }
            ),
        ]
        for (variant, summary, convert) in fromPath {
            register(key, variant, summary: summary, config: NumberConversionFromCheckpointPathConfig.self, produces: [Int.self]) {
                config, _ in
                try convert(config.checkpointPath)
            }
        }
    }
}
