import Config
import DataLoading
import Tokenizers
import Torch

struct PackedContinuousDatasetConfig: Decodable {
    var rawDataPath: String
    var sequenceLength: PositiveInt
    var sampleKey: String
    var reuseLastTarget: Bool

    enum CodingKeys: String, CodingKey {
        case rawDataPath = "raw_data_path", sequenceLength = "sequence_length", sampleKey = "sample_key"
        case reuseLastTarget = "reuse_last_target"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rawDataPath = try container.decode(String.self, forKey: .rawDataPath)
        sequenceLength = try container.decode(PositiveInt.self, forKey: .sequenceLength)
        sampleKey = try container.decode(String.self, forKey: .sampleKey)
        reuseLastTarget = try container.decodeIfPresent(Bool.self, forKey: .reuseLastTarget) ?? true
    }
}

struct PackedMegatronDatasetConfig: Decodable {
    var rawDataPath: String
    var blockSize: PositiveInt
    var sampleKey: String

    enum CodingKeys: String, CodingKey { case rawDataPath = "raw_data_path", blockSize = "block_size", sampleKey = "sample_key" }
}

struct MemMapDatasetConfig: Decodable {
    var rawDataPath: String
    var indexPath: String?
    var tokenizer: ComponentSlot<any Tokenizer>
    var jqPattern: String
    var sampleKey: String

    enum CodingKeys: String, CodingKey {
        case rawDataPath = "raw_data_path", indexPath = "index_path", tokenizer, jqPattern = "jq_pattern", sampleKey = "sample_key"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rawDataPath = try container.decode(String.self, forKey: .rawDataPath)
        indexPath = try container.decodeIfPresent(String.self, forKey: .indexPath)
        tokenizer = try container.decode(ComponentSlot<any Tokenizer>.self, forKey: .tokenizer)
        jqPattern = try container.decodeIfPresent(String.self, forKey: .jqPattern) ?? ".text"
        sampleKey = try container.decode(String.self, forKey: .sampleKey)
    }
}

struct CombinedDatasetConfig: Decodable {
    var datasets: [ComponentSlot<any Dataset>]
}

/// Modalities' sample types for dummy data, written by value as pydantic reads its enum (`int`, `float`); only
/// integers (token ids) are generated so far: float samples (CoCa's images) come with CoCa.
enum DummySampleType: String, ConfigEnum {
    case int, float
}

struct DummySampleConfig: Decodable {
    var sampleKey: String
    var sampleShape: [Int]
    var sampleType: DummySampleType

    enum CodingKeys: String, CodingKey { case sampleKey = "sample_key", sampleShape = "sample_shape", sampleType = "sample_type" }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sampleKey = try container.decode(String.self, forKey: .sampleKey)
        sampleShape = try container.decode([Int].self, forKey: .sampleShape)
        sampleType = try container.decode(DummySampleType.self, forKey: .sampleType)
        guard sampleType == .int else { throw ConfigValueError("sample_type float is not available yet: it needs CoCa multimodal models (samples hold token ids; use int)") }
        guard !sampleShape.isEmpty, sampleShape.allSatisfy({ $0 > 0 }) else { throw ConfigValueError("sample_shape must be positive sizes, found \(sampleShape)") }
    }
}

struct DummyDatasetConfig: Decodable {
    var numSamples: PositiveInt
    var sampleDefinition: [DummySampleConfig]

    enum CodingKeys: String, CodingKey { case numSamples = "num_samples", sampleDefinition = "sample_definition" }
}

struct DistributedSamplerConfig: Decodable {
    var rank: NonNegativeInt
    var numReplicas: PositiveInt
    var shuffle: Bool
    var dataset: ComponentSlot<any Dataset>
    var seed: Int
    var dropLast: Bool

    enum CodingKeys: String, CodingKey {
        case rank, numReplicas = "num_replicas", shuffle, dataset, seed, dropLast = "drop_last"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rank = try container.decode(NonNegativeInt.self, forKey: .rank)
        numReplicas = try container.decode(PositiveInt.self, forKey: .numReplicas)
        shuffle = try container.decode(Bool.self, forKey: .shuffle)
        dataset = try container.decode(ComponentSlot<any Dataset>.self, forKey: .dataset)
        seed = try container.decodeIfPresent(Int.self, forKey: .seed) ?? 0
        dropLast = try container.decodeIfPresent(Bool.self, forKey: .dropLast) ?? true
        guard dropLast else { throw ConfigValueError("distributed_sampler requires drop_last: true (as Modalities)") }
    }
}

struct ResumableDistributedSamplerConfig: Decodable {
    var dataset: ComponentSlot<any Dataset>
    var rank: NonNegativeInt
    var numReplicas: PositiveInt
    var epoch: NonNegativeInt?
    var shuffle: Bool
    var seed: Int
    var dropLast: Bool
    var skipNumGlobalSamples: NonNegativeInt?

    enum CodingKeys: String, CodingKey {
        case dataset, rank, numReplicas = "num_replicas", epoch, shuffle, seed, dropLast = "drop_last"
        case skipNumGlobalSamples = "skip_num_global_samples"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try container.decode(ComponentSlot<any Dataset>.self, forKey: .dataset)
        rank = try container.decode(NonNegativeInt.self, forKey: .rank)
        numReplicas = try container.decode(PositiveInt.self, forKey: .numReplicas)
        epoch = try container.decodeIfPresent(NonNegativeInt.self, forKey: .epoch)
        shuffle = try container.decodeIfPresent(Bool.self, forKey: .shuffle) ?? false
        seed = try container.decodeIfPresent(Int.self, forKey: .seed) ?? 0
        dropLast = try container.decodeIfPresent(Bool.self, forKey: .dropLast) ?? false
        skipNumGlobalSamples = try container.decodeIfPresent(NonNegativeInt.self, forKey: .skipNumGlobalSamples)
    }
}

struct SequentialSamplerConfig: Decodable {
    var dataSource: ComponentSlot<any Dataset>

    enum CodingKeys: String, CodingKey { case dataSource = "data_source" }
}

struct BatchSamplerConfig: Decodable {
    var sampler: ComponentSlot<any Sampler>
    var batchSize: PositiveInt
    var dropLast: Bool

    enum CodingKeys: String, CodingKey { case sampler, batchSize = "batch_size", dropLast = "drop_last" }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sampler = try container.decode(ComponentSlot<any Sampler>.self, forKey: .sampler)
        batchSize = try container.decode(PositiveInt.self, forKey: .batchSize)
        dropLast = try container.decodeIfPresent(Bool.self, forKey: .dropLast) ?? true
    }
}

struct GPT2LLMCollatorConfig: Decodable {
    var sampleKey: String
    var targetKey: String

    enum CodingKeys: String, CodingKey { case sampleKey = "sample_key", targetKey = "target_key" }
}

struct DataLoaderConfig: Decodable {
    var dataloaderTag: String
    var dataset: ComponentSlot<any Dataset>
    var batchSampler: ComponentSlot<BatchSampler>
    var collateFn: ComponentSlot<any Collator>?
    var numWorkers: NonNegativeInt
    var pinMemory: Bool

    enum CodingKeys: String, CodingKey {
        case dataloaderTag = "dataloader_tag", dataset, batchSampler = "batch_sampler", collateFn = "collate_fn"
        case numWorkers = "num_workers", pinMemory = "pin_memory"
    }
}

/// Hands samples through unchanged, for loaders configured without a collate_fn: each sample key becomes a
/// batch input of stacked sequences.
struct StackingCollator: Collator {
    func collate(_ samples: [Sample]) throws -> DatasetBatch {
        var inputs: [String: Tensor] = [:]
        for key in samples.first?.values.keys.sorted() ?? [] {
            let rows = samples.map { $0[key] ?? [] }
            guard let length = rows.first?.count, rows.allSatisfy({ $0.count == length }) else {
                throw DatasetError.invalidArgument("samples of key '\(key)' have different lengths and cannot be stacked")
            }
            inputs[key] = try Tensor(rows.flatMap { $0 }, shape: [rows.count, length])
        }
        return DatasetBatch(samples: inputs, targets: [:], size: samples.count)
    }
}

extension ComponentRegistry {
    /// Datasets, samplers, the batch sampler, the collator and the data loader, with Modalities' fields.
    func registerDataLoading() {
        let dataset = [(any Dataset).self] as [Any.Type]
        register("dataset", "packed_mem_map_dataset_continuous", summary: "fixed blocks over a .pbin token stream",
                 config: PackedContinuousDatasetConfig.self, produces: dataset) { config, _ -> any Dataset in
            try PackedContinuousDataset(path: config.rawDataPath, sequenceLength: config.sequenceLength.value,
                                        sampleKey: config.sampleKey, reuseLastTarget: config.reuseLastTarget)
        }
        register("dataset", "packed_mem_map_dataset_megatron", summary: "blocks of a .pbin that start at document boundaries",
                 config: PackedMegatronDatasetConfig.self, produces: dataset) { config, _ -> any Dataset in
            try PackedMegatronDataset(path: config.rawDataPath, sequenceLength: config.blockSize.value, sampleKey: config.sampleKey)
        }
        register("dataset", "mem_map_dataset", summary: "JSONL lines tokenized when read, through a raw index",
                 config: MemMapDatasetConfig.self, produces: dataset) { config, context -> any Dataset in
            try TokenizedJSONLDataset(path: config.rawDataPath, indexPath: config.indexPath, tokenizer: try context.build(config.tokenizer),
                                      jqPattern: config.jqPattern, sampleKey: config.sampleKey)
        }
        register("dataset", "combined", summary: "several datasets one after the other",
                 config: CombinedDatasetConfig.self, produces: dataset) { config, context -> any Dataset in
            CombinedDataset(try context.build(config.datasets))
        }
        register("dataset", "dummy_dataset", summary: "seeded random token ids of given shapes",
                 config: DummyDatasetConfig.self, produces: dataset) { config, _ -> any Dataset in
            DummyDataset(count: config.numSamples.value, fields: config.sampleDefinition.map {
                DummyDataset.Field(key: $0.sampleKey, length: $0.sampleShape.reduce(1, *), upperBound: 50_000)
            })
        }
        let sampler = [(any Sampler).self] as [Any.Type]
        register("sampler", "distributed_sampler", summary: "PyTorch's DistributedSampler order (randperm with seed + epoch)",
                 config: DistributedSamplerConfig.self, produces: sampler) { config, context -> any Sampler in
            try DistributedSampler(datasetCount: try context.build(config.dataset).count, rank: config.rank.value,
                                   replicas: config.numReplicas.value, shuffle: config.shuffle, seed: UInt64(bitPattern: Int64(config.seed)),
                                   dropLast: config.dropLast)
        }
        register("sampler", "resumable_distributed_sampler", summary: "distributed sampler that skips already seen global samples",
                 config: ResumableDistributedSamplerConfig.self, produces: sampler) { config, context -> any Sampler in
            try DistributedSampler(datasetCount: try context.build(config.dataset).count, rank: config.rank.value,
                                   replicas: config.numReplicas.value, shuffle: config.shuffle, seed: UInt64(bitPattern: Int64(config.seed)),
                                   epoch: config.epoch?.value ?? 0, dropLast: config.dropLast,
                                   skippedGlobalSamples: config.skipNumGlobalSamples?.value ?? 0)
        }
        register("sampler", "sequential_sampler", summary: "every index in order",
                 config: SequentialSamplerConfig.self, produces: sampler) { config, context -> any Sampler in
            SequentialSampler(count: try context.build(config.dataSource).count)
        }
        register("batch_sampler", "default", summary: "groups a sampler's indices into batches",
                 config: BatchSamplerConfig.self, produces: [BatchSampler.self]) { config, context in
            try BatchSampler(sampler: try context.build(config.sampler), batchSize: config.batchSize.value, dropLast: config.dropLast)
        }
        register("collate_fn", "gpt_2_llm_collator", summary: "stack token blocks; targets are inputs shifted by one",
                 config: GPT2LLMCollatorConfig.self, produces: [(any Collator).self]) { config, _ -> any Collator in
            GPT2LLMCollator(sampleKey: config.sampleKey, targetKey: config.targetKey)
        }
        register("data_loader", "default", summary: "batches in the sampler's order, prefetched on worker threads",
                 config: DataLoaderConfig.self, produces: [DataLoader.self]) { config, context in
            DataLoader(tag: config.dataloaderTag, dataset: try context.build(config.dataset),
                       batchSampler: try context.build(config.batchSampler),
                       collator: try context.build(config.collateFn) ?? StackingCollator(),
                       workers: config.numWorkers.value, pinMemory: config.pinMemory)
        }
    }
}
