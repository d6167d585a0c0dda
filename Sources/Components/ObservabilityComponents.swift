import Config
import DataLoading
import Distributed
import Foundation
import Models
import Observability
import Parallelism
import Torch
import Training

struct EmptyConfig: Decodable {}

struct RichProgressConfig: Decodable {
    var evalDataloaders: ComponentListSlot<DataLoader>?
    var trainDataloaderTag: String
    var numSeenSteps: NonNegativeInt
    var numTargetSteps: PositiveInt
    var globalRank: NonNegativeInt

    enum CodingKeys: String, CodingKey {
        case evalDataloaders = "eval_dataloaders", trainDataloaderTag = "train_dataloader_tag", numSeenSteps = "num_seen_steps"
        case numTargetSteps = "num_target_steps", globalRank = "global_rank"
    }
}

struct RichResultConfig: Decodable {
    var numRanks: Int
    var globalRank: NonNegativeInt
    enum CodingKeys: String, CodingKey { case numRanks = "num_ranks", globalRank = "global_rank" }
}

struct ToDiscConfig: Decodable {
    var outputFilePath: String
    enum CodingKeys: String, CodingKey { case outputFilePath = "output_file_path" }
}

struct WandbConfig: Decodable {
    enum Mode: String, ConfigEnum { case ONLINE, OFFLINE, DISABLED }

    var globalRank: Int
    var project: String
    var experimentID: String
    var mode: Mode
    var directory: String
    var configFilePath: String

    enum CodingKeys: String, CodingKey {
        case globalRank = "global_rank", project, experimentID = "experiment_id", mode, directory, configFilePath = "config_file_path"
    }
}

struct TensorBoardConfig: Decodable {
    var globalRank: NonNegativeInt
    var directory: String
    enum CodingKeys: String, CodingKey { case globalRank = "global_rank", directory }
}

struct GPT2MFUConfig: DeclaredConfig {
    @Field("n_layer") var nLayer: PositiveInt
    @Field("sequence_length") var sequenceLength: PositiveInt
    @Field("n_embd") var nEmbd: PositiveInt
    @Field("world_size") var worldSize: PositiveInt
    /// The model: `model_parts` (Modalities main), `wrapped_model`, or in older configs also the unwrapped
    /// `raw_model` (the parameter count is the same).
    @Field("model_parts") var modelParts: ComponentSlot<any Model>?
    @Field("wrapped_model") var wrappedModel: ComponentSlot<any Model>?
    @Field("raw_model") var rawModel: ComponentSlot<any Model>?
    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>?

    var model: ComponentSlot<any Model> { (modelParts ?? wrappedModel ?? rawModel)! }

    func validate() throws {
        guard modelParts ?? wrappedModel ?? rawModel != nil else {
            throw ConfigValueError("needs the model as model_parts (or wrapped_model)")
        }
    }
}

extension ComponentRegistry {
    /// Progress and result subscribers and the MFU calculator.
    func registerObservability() {
        register(
            "progress_subscriber", "dummy", summary: "shows nothing", config: EmptyConfig.self,
            produces: [(any ProgressSubscriber).self]
        ) { _, _ -> any ProgressSubscriber in DummyProgressSubscriber() }
        register(
            "progress_subscriber", "rich", summary: "a live bar on a terminal, a line every tenth of the way otherwise",
            config: RichProgressConfig.self, produces: [(any ProgressSubscriber).self]
        ) { config, context -> any ProgressSubscriber in
            var evaluationSteps: [String: Int] = [:]
            if let slot = config.evalDataloaders {
                for loader in try context.build(slot) { evaluationSteps[loader.tag] = try loader.count() }
            }
            return ConsoleProgressSubscriber(
                globalRank: config.globalRank.value, numSeenSteps: config.numSeenSteps.value,
                numTargetSteps: config.numTargetSteps.value, evaluationSteps: evaluationSteps)
        }
        register(
            "results_subscriber", "dummy", summary: "records nothing", config: EmptyConfig.self,
            produces: [(any ResultSubscriber).self]
        ) { _, _ -> any ResultSubscriber in DummyResultSubscriber() }
        register(
            "results_subscriber", "rich", summary: "prints losses and metrics on rank 0", config: RichResultConfig.self,
            produces: [(any ResultSubscriber).self]
        ) { config, _ -> any ResultSubscriber in
            ConsoleResultSubscriber(globalRank: config.globalRank.value)
        }
        register(
            "results_subscriber", "to_disc", summary: "appends each result as a JSON line (Modalities' record shape)",
            config: ToDiscConfig.self, produces: [(any ResultSubscriber).self]
        ) { config, context -> any ResultSubscriber in
            // Modalities writes on global rank 0 only (torch.distributed.get_rank()).
            try JSONLinesResultSubscriber(path: config.outputFilePath, globalRank: context.run.rank)
        }
        register(
            "results_subscriber", "wandb", summary: "OFFLINE: a local run folder with config and every value; ONLINE refused",
            config: WandbConfig.self, produces: [(any ResultSubscriber).self]
        ) { config, _ -> any ResultSubscriber in
            do {
                return try WandbOfflineSubscriber(
                    project: config.project, experimentID: config.experimentID,
                    mode: WandbOfflineSubscriber.Mode(rawValue: config.mode.rawValue)!, directory: config.directory,
                    configFilePath: config.configFilePath, globalRank: config.globalRank)
            } catch let error as ObservabilityError {
                throw ConfigValueError(error.description)
            }
        }
        register(
            "results_subscriber", "tensorboard", summary: "TensorBoard event files (scalars <dataloader tag>/<name>) in directory",
            config: TensorBoardConfig.self, produces: [(any ResultSubscriber).self]
        ) { config, _ -> any ResultSubscriber in
            try TensorBoardResultSubscriber(directory: config.directory, globalRank: config.globalRank.value)
        }
        register(
            "mfu_calculator", "gpt2",
            summary:
                "model FLOPs utilisation: 6N + 12·L·T·d FLOPs per token over the devices' peak (a GPU's published figure, a CPU's upper bound)",
            config: GPT2MFUConfig.self, produces: [GPT2MFUCalculator.self]
        ) { config, context in
            let model = try context.build(config.model)
            _ = try context.build(config.deviceMesh)
            // GPT-2's formula counts one decoder stack over sequence_length tokens; CoCa's encoders and cross-attention
            // do other work per token, which no Modalities calculator counts.
            guard model.unwrapped(as: CoCa.self) == nil else {
                throw ConfigValueError(
                    "MFU is not available for model/coca: mfu_calculator/gpt2 counts GPT-2's FLOPs per token; leave mfu_calculator out (throughput is still reported)"
                )
            }
            let parameterCount = model.parameterCount
            // The CPU's peak is worked out once and cached; a GPU's is its published figure for the precision the model
            // computes in (none for a GPU not in the table: MFU is then not computed).
            let device = model.parameters.named.first?.tensor.device ?? .cpu
            let peak: Double?
            switch device.kind {
            case .cpu: peak = try PeakThroughput.cpuFlopsPerSecond()
            case .cuda:
                let name = try CUDA.deviceProperties(device.index ?? 0).name
                peak = try? PeakThroughput.gpuFlopsPerSecond(
                    deviceName: name, bf16: MixedPrecisionModel.computeDType(of: model) == .bfloat16)
            default: peak = nil
            }
            return GPT2MFUCalculator(
                parameterCount: parameterCount, layerCount: config.nLayer.value, sequenceLength: config.sequenceLength.value,
                embeddingSize: config.nEmbd.value, worldSize: config.worldSize.value, peakFlopsPerDevice: peak)
        }
    }
}
