import Torch

/// A collated batch: model inputs and loss targets by key (Modalities' `DatasetBatch`).
public struct DatasetBatch: @unchecked Sendable {  // tensors are only read after collation
    public var samples: [String: Tensor]
    public var targets: [String: Tensor]
    /// Number of sequences in the batch.
    public var size: Int

    public init(samples: [String: Tensor], targets: [String: Tensor], size: Int) {
        self.samples = samples
        self.targets = targets
        self.size = size
    }
}

/// Turns samples into a batch.
public protocol Collator: Sendable {
    func collate(_ samples: [Sample]) throws -> DatasetBatch
}

/// Stacks token blocks and shifts them by one: inputs are all but the last token, targets all but the first
/// (`collate_fn/gpt_2_llm_collator`).
public struct GPT2LLMCollator: Collator {
    public let sampleKey: String
    public let targetKey: String

    public init(sampleKey: String, targetKey: String) {
        self.sampleKey = sampleKey
        self.targetKey = targetKey
    }

    public func collate(_ samples: [Sample]) throws -> DatasetBatch {
        let rows = try samples.map { sample -> [Int] in
            guard let tokens = sample[sampleKey] else {
                throw DatasetError.invalidArgument(
                    "a sample has no key '\(sampleKey)' (keys: \(sample.values.keys.sorted().joined(separator: ", ")))")
            }
            return tokens
        }
        guard let length = rows.first?.count, length > 1, rows.allSatisfy({ $0.count == length }) else {
            throw DatasetError.invalidArgument("samples must have equal lengths above 1 to be stacked; got \(rows.map(\.count))")
        }
        let stacked = try Tensor(rows.flatMap { $0 }, shape: [rows.count, length])
        return DatasetBatch(
            samples: [sampleKey: try stacked.narrow(1, start: 0, length: length - 1)],
            targets: [targetKey: try stacked.narrow(1, start: 1, length: length - 1)],
            size: rows.count)
    }
}

extension Array<Sample> {
    /// The samples' values under `key` stacked along a new first dimension, naming the key when they are missing or
    /// their shapes differ.
    public func stacked(_ key: String) throws -> Tensor {
        let samples = self
        guard let first = samples.first else { throw DatasetError.invalidArgument("an empty batch cannot be collated") }
        if first.arrays[key] != nil {
            let arrays = try samples.map { sample -> RealArray in
                guard let array = sample.arrays[key] else { throw missing(key, in: sample) }
                return array
            }
            let shape = arrays[0].shape
            guard arrays.allSatisfy({ $0.shape == shape }) else {
                throw DatasetError.invalidArgument("'\(key)' has different shapes in one batch: \(Set(arrays.map(\.shape.description)).sorted())")
            }
            return try Tensor(arrays.flatMap(\.values), shape: [arrays.count] + shape)
        }
        let rows = try samples.map { sample -> [Int] in
            guard let values = sample[key] else { throw missing(key, in: sample) }
            return values
        }
        let length = rows[0].count
        guard rows.allSatisfy({ $0.count == length }) else {
            throw DatasetError.invalidArgument("'\(key)' has different lengths in one batch: \(rows.map(\.count))")
        }
        return try Tensor(rows.flatMap { $0 }, shape: [rows.count, length])
    }

    private func missing(_ key: String, in sample: Sample) -> DatasetError {
        .invalidArgument("a sample has no key '\(key)' (keys: \(sample.keys.joined(separator: ", ")))")
    }
}
