import Checkpointing
import Config
import Distributed
import Foundation
import Interop
import Models
import Torch
import Training

struct RawAppStateConfig: Decodable {
    var model: ComponentSlot<any Model>
    var optimizer: ComponentSlot<any Optimizer>
    var lrScheduler: ComponentSlot<LearningRateScheduler>?

    enum CodingKeys: String, CodingKey { case model, optimizer, lrScheduler = "lr_scheduler" }
}

struct DCPAppStateConfig: Decodable {
    var rawAppState: ComponentSlot<AppState>
    var checkpointDirPath: String

    enum CodingKeys: String, CodingKey { case rawAppState = "raw_app_state", checkpointDirPath = "checkpoint_dir_path" }
}

struct CheckpointSavingConfig: Decodable {
    var strategy: ComponentSlot<any CheckpointSavingStrategy>
    var execution: ComponentSlot<any CheckpointExecution>

    enum CodingKeys: String, CodingKey { case strategy = "checkpoint_saving_strategy", execution = "checkpoint_saving_execution" }
}

struct KConfig: Decodable {
    var k: Int
}

/// `checkpoint_loading/*`: how a checkpoint file or folder is read. Modalities' loaders take a device, a precision
/// and FSDP settings; here weights land on the model's own device, in its own dtype and sharding, so those fields are
/// checked and accepted with a warning.
struct CheckpointLoadingConfig: DeclaredConfig {
    private static let ownPlacement = "weights are loaded onto the model's own device, dtype and sharding"
    @Field("device", ignored: ownPlacement) var device: String? = nil
    @Field("precision", ignored: ownPlacement) var precision: String? = nil
    @Field("global_rank", ignored: "every rank reads the checkpoint's index and its own shards") var globalRank: NonNegativeInt? = nil
    @Field("block_names", ignored: ownPlacement) var blockNames: [String]? = nil
    @Field("mixed_precision_settings", ignored: ownPlacement) var mixedPrecisionSettings: String? = nil
    @Field("sharding_strategy", ignored: ownPlacement) var shardingStrategy: String? = nil

    func validate() throws {
        // Modalities' parse_torch_device: "cpu" or a GPU index (0 is cuda:0); "cuda[:N]" is accepted too.
        if let device, device != "cpu", Int(device).map({ $0 < 0 }) ?? true,
            device != "cuda", !(device.hasPrefix("cuda:") && Int(device.dropFirst(5)).map { $0 >= 0 } == true)
        {
            throw ConfigValueError("device must be cpu, a GPU index (0, 1, …) or cuda[:N], found '\(device)'")
        }
    }
}

/// Reads a checkpoint file or folder into a model or app state.
struct CheckpointLoader {
    let kind: String

    func loadModel(_ model: any Model, from path: String) throws {
        if DistributedCheckpoint.isDistributedCheckpoint(path) {
            let checkpoint = try DistributedCheckpoint(folder: path)
            try PyTorchCheckpointLoading.loadModel(model, from: checkpoint.tensors, prefix: "app.model.", source: path)
        } else if CheckpointReader.isCheckpoint(path) {
            try CheckpointReader(folder: path).loadParameters(into: model)
        } else {
            try PyTorchCheckpointLoading.load(torchFile: path, into: model)
        }
    }
}

struct CheckpointedModelConfig: Decodable {
    var checkpointLoading: ComponentSlot<CheckpointLoader>
    var checkpointPath: String
    var model: ComponentSlot<any Model>

    enum CodingKeys: String, CodingKey { case checkpointLoading = "checkpoint_loading", checkpointPath = "checkpoint_path", model }
}

struct CheckpointedOptimizerConfig: Decodable {
    var checkpointLoading: ComponentSlot<CheckpointLoader>
    var checkpointPath: String
    var wrappedModel: ComponentSlot<any Model>
    var optimizer: ComponentSlot<AdamOptimizer>

    enum CodingKeys: String, CodingKey {
        case checkpointLoading = "checkpoint_loading", checkpointPath = "checkpoint_path", wrappedModel = "wrapped_model", optimizer
    }
}

struct CheckpointExecutionConfig: Decodable {
    var checkpointPath: String
    var globalRank: NonNegativeInt
    var experimentID: String

    enum CodingKeys: String, CodingKey {
        case checkpointPath = "checkpoint_path", globalRank = "global_rank", experimentID = "experiment_id"
    }
}

extension ComponentRegistry {
    /// The app state a checkpoint holds, and checkpoint loading and saving.
    func registerCheckpointing() {
        register(
            "app_state", "raw", summary: "model, optimizer and lr scheduler as a checkpoint saves them",
            config: RawAppStateConfig.self, produces: [AppState.self]
        ) { config, context in
            try AppState(
                model: context.build(config.model), optimizer: context.build(config.optimizer), scheduler: context.build(config.lrScheduler)
            )
        }
        register(
            "app_state", "dcp", summary: "a raw app state loaded from a checkpoint folder (our format)",
            config: DCPAppStateConfig.self, produces: [AppState.self]
        ) { config, context in
            let state = try context.build(config.rawAppState)
            // Our own format, or the PyTorch DCP folders Modalities itself writes.
            if DistributedCheckpoint.isDistributedCheckpoint(config.checkpointDirPath) {
                try PyTorchCheckpointLoading.load(dcp: config.checkpointDirPath, into: state)
            } else {
                try CheckpointReader(folder: config.checkpointDirPath).load(into: state)
            }
            return state
        }
        for (variant, summary) in [
            ("torch", "reads torch.save state dicts (and our or DCP checkpoints) into a model"),
            ("fsdp1", "reads Modalities' FSDP1 full-state .bin files into a model"),
            ("dcp", "reads PyTorch DCP folders (Modalities' default) into a model or app state"),
        ] {
            register(
                "checkpoint_loading", variant, summary: summary, config: CheckpointLoadingConfig.self,
                produces: [CheckpointLoader.self]
            ) { _, _ in CheckpointLoader(kind: variant) }
        }
        for variant in ["fsdp1_checkpointed"] {
            register(
                "model", variant, summary: "a model with weights from checkpoint_path (torch.save file, DCP folder or our checkpoint)",
                config: CheckpointedModelConfig.self, produces: [(any Model).self]
            ) { config, context -> any Model in
                let model = try context.build(config.model)
                try context.build(config.checkpointLoading).loadModel(model, from: config.checkpointPath)
                return model
            }
        }
        register(
            "optimizer", "fsdp1_checkpointed",
            summary: "an optimizer with Adam state from a torch.save optimizer state dict (Modalities' FSDP1 .bin)",
            config: CheckpointedOptimizerConfig.self, produces: [AdamOptimizer.self, (any Optimizer).self]
        ) { config, context in
            _ = try context.build(config.checkpointLoading)
            _ = try context.build(config.wrappedModel)
            let optimizer = try context.build(config.optimizer)
            try PyTorchCheckpointLoading.load(torchOptimizerFile: config.checkpointPath, into: optimizer)
            return optimizer
        }
        register(
            "checkpoint_saving", "default", summary: "a saving strategy and a saving execution",
            config: CheckpointSavingConfig.self, produces: [CheckpointSaver.self, (any CheckpointSaving).self]
        ) { config, context in
            CheckpointSaver(strategy: try context.build(config.strategy), writer: try context.build(config.execution))
        }
        register(
            "checkpoint_saving_strategy", "save_k_most_recent_checkpoints_strategy", summary: "keeps the k newest (-1 all, 0 none)",
            config: KConfig.self, produces: [(any CheckpointSavingStrategy).self]
        ) { config, _ -> any CheckpointSavingStrategy in
            try SaveKMostRecentCheckpoints(k: config.k)
        }
        register(
            "checkpoint_saving_strategy", "save_every_k_steps_checkpointing_strategy",
            summary: "saves when the step count is a multiple of k",
            config: KConfig.self, produces: [(any CheckpointSavingStrategy).self]
        ) { config, _ -> any CheckpointSavingStrategy in
            try SaveEveryKSteps(k: config.k)
        }
        register(
            "checkpoint_saving_execution", "dcp",
            summary: "per-rank safetensors shards + metadata.json, written atomically (docs/checkpoint-format.md)",
            config: CheckpointExecutionConfig.self, produces: [CheckpointWriter.self, (any CheckpointExecution).self]
        ) { config, context in
            CheckpointWriter(
                checkpointPath: config.checkpointPath, experimentID: config.experimentID, globalRank: config.globalRank.value,
                group: context.run.worldGroup)
        }
        register(
            "checkpoint_saving_execution", "fsdp1",
            summary: "Modalities' FSDP1 files: full model and optimizer state dicts as torch.save .bin files, written by rank 0",
            config: CheckpointExecutionConfig.self, produces: [TorchStateDictWriter.self, (any CheckpointExecution).self]
        ) { config, context in
            TorchStateDictWriter(
                checkpointPath: config.checkpointPath, experimentID: config.experimentID, globalRank: config.globalRank.value,
                group: context.run.worldGroup)
        }
    }
}
