import Torch

/// The order in which a loader visits dataset indices for one epoch.
public protocol Sampler: Sendable {
    /// Indices this rank visits, in order.
    func indices() throws -> [Int]
}

/// Every index in order (`sampler/sequential_sampler`).
public struct SequentialSampler: Sampler {
    public let count: Int
    public init(count: Int) { self.count = count }
    public func indices() -> [Int] { Array(0..<count) }
}

/// PyTorch's `DistributedSampler` with Modalities' resumption (`sampler/resumable_distributed_sampler`,
/// and `sampler/distributed_sampler` with nothing skipped).
///
/// The permutation is libtorch's `randperm` with a CPU generator seeded `seed + epoch`, so the order equals
/// PyTorch's for the same seed. Already seen global samples are skipped before the ranks take every
/// `replicas`-th index starting at `rank`; without `dropLast` the list is padded by repeating its start.
public struct DistributedSampler: Sampler {
    public let datasetCount: Int
    public let rank: Int
    public let replicas: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let epoch: Int
    public let dropLast: Bool
    public let skippedGlobalSamples: Int

    public init(
        datasetCount: Int, rank: Int, replicas: Int, shuffle: Bool, seed: UInt64 = 0, epoch: Int = 0,
        dropLast: Bool = false, skippedGlobalSamples: Int = 0
    ) throws {
        guard replicas > 0, (0..<replicas).contains(rank) else {
            throw DatasetError.invalidArgument("rank \(rank) is not in 0..<num_replicas (\(replicas))")
        }
        guard (0...datasetCount).contains(skippedGlobalSamples) else {
            throw DatasetError.invalidArgument(
                "skip_num_global_samples \(skippedGlobalSamples) exceeds the dataset's \(datasetCount) samples")
        }
        self.datasetCount = datasetCount
        self.rank = rank
        self.replicas = replicas
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = epoch
        self.dropLast = dropLast
        self.skippedGlobalSamples = skippedGlobalSamples
    }

    /// Samples each rank visits in the epoch.
    public var samplesPerRank: Int {
        let remaining = datasetCount - skippedGlobalSamples
        if dropLast && remaining % replicas != 0 {
            return (remaining - replicas + replicas - 1) / replicas
        }
        return (remaining + replicas - 1) / replicas
    }

    public func indices() throws -> [Int] {
        var all: [Int]
        if shuffle {
            let generator = try Generator(seed: seed &+ UInt64(epoch))
            all = try Tensor.randperm(datasetCount, generator: generator).toArray(Int.self)
        } else {
            all = Array(0..<datasetCount)
        }
        all.removeFirst(skippedGlobalSamples)
        let total = samplesPerRank * replicas
        if total <= all.count {
            all.removeLast(all.count - total)
        } else if !all.isEmpty {
            var padded = all
            while padded.count < total { padded += all.prefix(total - padded.count) }
            all = padded
        }
        return stride(from: rank, to: all.count, by: replicas).map { all[$0] }
    }
}

/// Groups a sampler's indices into batches (`batch_sampler/default`).
public struct BatchSampler: Sendable {
    public let sampler: any Sampler
    public let batchSize: Int
    public let dropLast: Bool

    public init(sampler: any Sampler, batchSize: Int, dropLast: Bool) throws {
        guard batchSize > 0 else { throw DatasetError.invalidArgument("batch_size must be positive, got \(batchSize)") }
        self.sampler = sampler
        self.batchSize = batchSize
        self.dropLast = dropLast
    }

    public func batches() throws -> [[Int]] {
        let indices = try sampler.indices()
        var batches: [[Int]] = []
        var start = 0
        while start < indices.count {
            let batch = Array(indices[start..<Swift.min(start + batchSize, indices.count)])
            if batch.count == batchSize || !dropLast { batches.append(batch) }
            start += batchSize
        }
        return batches
    }
}
