import Config
import DataLoading
import Distributed
import Tokenizers
import Torch

struct PackedContinuousDatasetConfig: DeclaredConfig {
    @Field("raw_data_path") var rawDataPath: String
    @Field("sequence_length") var sequenceLength: PositiveInt
    @Field("sample_key") var sampleKey: String
    @Field("reuse_last_target") var reuseLastTarget = true
}

struct PackedMegatronDatasetConfig: DeclaredConfig {
    @Field("raw_data_path") var rawDataPath: String
    @Field("block_size") var blockSize: PositiveInt
    @Field("sample_key") var sampleKey: String
}

struct MemMapDatasetConfig: DeclaredConfig {
    @Field("raw_data_path") var rawDataPath: String
    @Field("index_path") var indexPath: String?
    @Field("tokenizer") var tokenizer: ComponentSlot<any Tokenizer>
    @Field("jq_pattern") var jqPattern = ".text"
    @Field("sample_key") var sampleKey: String
}

struct CombinedDatasetConfig: DeclaredConfig {
    @Field("datasets") var datasets: [ComponentSlot<any Dataset>]
}

/// Modalities' sample types for dummy data, written by value as pydantic reads its enum (`int`, `float`).
enum DummySampleType: String, ConfigEnum {
    case int, float
}

struct DummySampleConfig: DeclaredConfig {
    @Field("sample_key") var sampleKey: String
    @Field("sample_shape") var sampleShape: [Int]
    @Field("sample_type") var sampleType: DummySampleType

    func validate() throws {
        guard !sampleShape.isEmpty, sampleShape.allSatisfy({ $0 > 0 }) else {
            throw ConfigValueError("sample_shape must be positive sizes, found \(sampleShape)")
        }
    }
}

struct DummyDatasetConfig: DeclaredConfig {
    @Field("num_samples") var numSamples: PositiveInt
    @Field("sample_definition") var sampleDefinition: [DummySampleConfig]
}

struct DistributedSamplerConfig: DeclaredConfig {
    @Field("rank") var rank: NonNegativeInt
    @Field("num_replicas") var numReplicas: PositiveInt
    @Field("shuffle") var shuffle: Bool
    @Field("dataset") var dataset: ComponentSlot<any Dataset>
    @Field("seed") var seed = 0
    @Field("drop_last") var dropLast = true

    func validate() throws {
        guard dropLast else { throw ConfigValueError("distributed_sampler requires drop_last: true (as Modalities)") }
    }
}

struct ResumableDistributedSamplerConfig: DeclaredConfig {
    @Field("dataset") var dataset: ComponentSlot<any Dataset>
    @Field("rank") var rank: NonNegativeInt
    @Field("num_replicas") var numReplicas: PositiveInt
    @Field("epoch") var epoch: NonNegativeInt?
    @Field("shuffle") var shuffle = false
    @Field("seed") var seed = 0
    @Field("drop_last") var dropLast = false
    @Field("skip_num_global_samples") var skipNumGlobalSamples: NonNegativeInt?
}

/// Modalities' `ResumableDistributedMultiDimSamplerConfig`: the ranks that share a data-parallel coordinate (the
/// ranks of one tensor- or pipeline-parallel group) read the same samples; rank and replica count come from the
/// mesh's `data_parallel_key` dimension.
struct ResumableDistributedMultiDimSamplerConfig: DeclaredConfig {
    enum Dimension: String, ConfigEnum { case dp_replicate, dp_shard, cp, tp, pp }

    @Field("dataset") var dataset: ComponentSlot<any Dataset>
    @Field("device_mesh") var deviceMesh: ComponentSlot<DeviceMesh>
    @Field("data_parallel_key") var dataParallelKey: Dimension
    @Field("epoch") var epoch = 0
    @Field("shuffle") var shuffle = false
    @Field("seed") var seed = 0
    @Field("drop_last") var dropLast = true
    @Field("skip_num_global_samples") var skipNumGlobalSamples = 0

    func validate() throws {
        guard dropLast else { throw ConfigValueError("resumable_distributed_multi_dim_sampler requires drop_last: true (as Modalities)") }
        guard epoch >= 0, skipNumGlobalSamples >= 0 else {
            throw ConfigValueError("epoch and skip_num_global_samples must be 0 or greater, found \(epoch) and \(skipNumGlobalSamples)")
        }
    }
}

struct SequentialSamplerConfig: DeclaredConfig {
    @Field("data_source") var dataSource: ComponentSlot<any Dataset>
}

struct BatchSamplerConfig: DeclaredConfig {
    @Field("sampler") var sampler: ComponentSlot<any Sampler>
    @Field("batch_size") var batchSize: PositiveInt
    @Field("drop_last") var dropLast = true
}

struct GPT2LLMCollatorConfig: DeclaredConfig {
    @Field("sample_key") var sampleKey: String
    @Field("target_key") var targetKey: String
}

struct LossMaskingCollatorConfig: DeclaredConfig {
    /// The two marker tokens between which targets count for the loss.
    struct MaskTokens: Decodable, Sendable {
        var begin: String
        var end: String

        enum CodingKeys: String, CodingKey {
            case begin = "b_include_to_loss_token", end = "e_include_to_loss_token"
        }
    }

    @Field("wrapped_collate_fn") var wrappedCollateFn: ComponentSlot<any Collator>
    @Field("target_keys_to_mask") var targetKeysToMask: [String]
    @Field("loss_ignore_index") var lossIgnoreIndex: Int
    @Field("mask_tokens") var maskTokens: MaskTokens
    @Field("tokenizer") var tokenizer: ComponentSlot<any Tokenizer>
}

struct DataLoaderConfig: DeclaredConfig {
    @Field("dataloader_tag") var dataloaderTag: String
    @Field("dataset") var dataset: ComponentSlot<any Dataset>
    @Field("batch_sampler") var batchSampler: ComponentSlot<BatchSampler>
    @Field("collate_fn") var collateFn: ComponentSlot<any Collator>?
    @Field("num_workers") var numWorkers: NonNegativeInt
    @Field("pin_memory") var pinMemory: Bool
}

/// Hands samples through unchanged, for loaders configured without a collate_fn: each sample key becomes a
/// batch input of stacked sequences.
struct StackingCollator: Collator {
    func collate(_ samples: [Sample]) throws -> DatasetBatch {
        var inputs: [String: Tensor] = [:]
        for key in samples.first?.keys ?? [] { inputs[key] = try samples.stacked(key) }
        return DatasetBatch(samples: inputs, targets: [:], size: samples.count)
    }
}

extension ComponentRegistry {
    /// Datasets, samplers, the batch sampler, the collator and the data loader, with Modalities' fields.
    func registerDataLoading() {
        let dataset = [(any Dataset).self] as [Any.Type]
        register(
            "dataset", "packed_mem_map_dataset_continuous", summary: "fixed blocks over a .pbin token stream",
            config: PackedContinuousDatasetConfig.self, produces: dataset
        ) { config, _ -> any Dataset in
            try PackedContinuousDataset(
                path: config.rawDataPath, sequenceLength: config.sequenceLength.value,
                sampleKey: config.sampleKey, reuseLastTarget: config.reuseLastTarget)
        }
        register(
            "dataset", "packed_mem_map_dataset_megatron", summary: "blocks of a .pbin that start at document boundaries",
            config: PackedMegatronDatasetConfig.self, produces: dataset
        ) { config, _ -> any Dataset in
            try PackedMegatronDataset(path: config.rawDataPath, sequenceLength: config.blockSize.value, sampleKey: config.sampleKey)
        }
        register(
            "dataset", "mem_map_dataset", summary: "JSONL lines tokenized when read, through a raw index",
            config: MemMapDatasetConfig.self, produces: dataset
        ) { config, context -> any Dataset in
            try TokenizedJSONLDataset(
                path: config.rawDataPath, indexPath: config.indexPath, tokenizer: try context.build(config.tokenizer),
                jqPattern: config.jqPattern, sampleKey: config.sampleKey)
        }
        register(
            "dataset", "combined", summary: "several datasets one after the other",
            config: CombinedDatasetConfig.self, produces: dataset
        ) { config, context -> any Dataset in
            CombinedDataset(try context.build(config.datasets))
        }
        register(
            "dataset", "dummy_dataset", summary: "seeded random token ids (int) or standard-normal arrays (float) of given shapes",
            config: DummyDatasetConfig.self, produces: dataset
        ) { config, _ -> any Dataset in
            DummyDataset(
                count: config.numSamples.value,
                fields: config.sampleDefinition.map {
                    switch $0.sampleType {
                    // Modalities draws ids in 0..<512 (np.random.randint(0, 512)).
                    case .int: DummyDataset.Field(key: $0.sampleKey, length: $0.sampleShape.reduce(1, *), upperBound: 512)
                    case .float: DummyDataset.Field(key: $0.sampleKey, normalOfShape: $0.sampleShape)
                    }
                })
        }
        let sampler = [(any Sampler).self] as [Any.Type]
        register(
            "sampler", "distributed_sampler", summary: "PyTorch's DistributedSampler order (randperm with seed + epoch)",
            config: DistributedSamplerConfig.self, produces: sampler
        ) { config, context -> any Sampler in
            try DistributedSampler(
                datasetCount: try context.build(config.dataset).count, rank: config.rank.value,
                replicas: config.numReplicas.value, shuffle: config.shuffle, seed: UInt64(bitPattern: Int64(config.seed)),
                dropLast: config.dropLast)
        }
        register(
            "sampler", "resumable_distributed_sampler", summary: "distributed sampler that skips already seen global samples",
            config: ResumableDistributedSamplerConfig.self, produces: sampler
        ) { config, context -> any Sampler in
            try DistributedSampler(
                datasetCount: try context.build(config.dataset).count, rank: config.rank.value,
                replicas: config.numReplicas.value, shuffle: config.shuffle, seed: UInt64(bitPattern: Int64(config.seed)),
                epoch: config.epoch?.value ?? 0, dropLast: config.dropLast,
                skippedGlobalSamples: config.skipNumGlobalSamples?.value ?? 0)
        }
        register(
            "sampler", "resumable_distributed_multi_dim_sampler",
            summary: "distributed sampler over one dimension of the device mesh; ranks sharing that coordinate read the same samples",
            config: ResumableDistributedMultiDimSamplerConfig.self, produces: sampler
        ) { config, context -> any Sampler in
            let mesh = try context.build(config.deviceMesh)
            guard mesh.worldSize == context.run.worldSize else {
                throw ConfigValueError("the device mesh spans \(mesh.worldSize) ranks, the job has \(context.run.worldSize)")
            }
            let dimension = DeviceMesh.Parallelism(rawValue: config.dataParallelKey.rawValue)!
            return try DistributedSampler(
                datasetCount: try context.build(config.dataset).count, rank: mesh.coordinate(of: context.run.rank, along: dimension),
                replicas: mesh.degree(of: [dimension]), shuffle: config.shuffle, seed: UInt64(bitPattern: Int64(config.seed)),
                epoch: config.epoch, dropLast: true, skippedGlobalSamples: config.skipNumGlobalSamples)
        }
        register(
            "sampler", "sequential_sampler", summary: "every index in order",
            config: SequentialSamplerConfig.self, produces: sampler
        ) { config, context -> any Sampler in
            SequentialSampler(count: try context.build(config.dataSource).count)
        }
        register(
            "batch_sampler", "default", summary: "groups a sampler's indices into batches",
            config: BatchSamplerConfig.self, produces: [BatchSampler.self]
        ) { config, context in
            try BatchSampler(sampler: try context.build(config.sampler), batchSize: config.batchSize.value, dropLast: config.dropLast)
        }
        register(
            "collate_fn", "gpt_2_llm_collator", summary: "stack token blocks; targets are inputs shifted by one",
            config: GPT2LLMCollatorConfig.self, produces: [(any Collator).self]
        ) { config, _ -> any Collator in
            GPT2LLMCollator(sampleKey: config.sampleKey, targetKey: config.targetKey)
        }
        register(
            "collate_fn", "mask_loss_collator_wrapper",
            summary: "keep only targets between the begin and end marker tokens in the loss (instruction tuning)",
            config: LossMaskingCollatorConfig.self, produces: [(any Collator).self]
        ) { config, context -> any Collator in
            let tokenizer = try context.build(config.tokenizer)
            func id(_ token: String, _ key: String) throws -> Int {
                guard let id = tokenizer.tokenID(token) else {
                    throw ConfigValueError("mask_tokens.\(key) '\(token)' is not a single token of the tokenizer (add it to its special_tokens)")
                }
                return id
            }
            let rank = context.run.rank
            return try LossMaskingCollator(
                wrapping: try context.build(config.wrappedCollateFn), targetKeys: config.targetKeysToMask,
                lossIgnoreIndex: config.lossIgnoreIndex, beginMarker: try id(config.maskTokens.begin, "b_include_to_loss_token"),
                endMarker: try id(config.maskTokens.end, "e_include_to_loss_token"),
                warn: { message in if rank == 0 { Self.warn(message) } })
        }
        register(
            "data_loader", "default", summary: "batches in the sampler's order, prefetched on worker threads",
            config: DataLoaderConfig.self, produces: [DataLoader.self]
        ) { config, context in
            DataLoader(
                tag: config.dataloaderTag, dataset: try context.build(config.dataset),
                batchSampler: try context.build(config.batchSampler),
                collator: try context.build(config.collateFn) ?? StackingCollator(),
                workers: config.numWorkers.value, pinMemory: config.pinMemory)
        }
    }
}
