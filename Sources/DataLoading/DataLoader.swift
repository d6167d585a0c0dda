import Dispatch
import Foundation
import Torch

/// Batches from a dataset in a sampler's order, prepared ahead on worker threads (`data_loader/default`).
///
/// The order is the batch sampler's whatever the worker count. ``state`` counts the batches handed out in the
/// current epoch; a checkpoint saves it and ``restore(state:)`` continues with exactly the remaining batches.
public final class DataLoader: @unchecked Sendable {  // iteration state is guarded by `lock`
    public let tag: String
    public let dataset: any Dataset
    public let batchSampler: BatchSampler
    public let collator: any Collator
    public let workers: Int
    /// Whether batches are put in page-locked host memory (when a GPU is in use), so copying them there overlaps
    /// with computing.
    public let pinMemory: Bool
    /// Batches prepared ahead of the consumer.
    public let prefetch: Int

    private let lock = NSLock()
    private var consumed = 0

    public init(
        tag: String, dataset: any Dataset, batchSampler: BatchSampler, collator: any Collator, workers: Int,
        pinMemory: Bool = false, prefetch: Int = 0
    ) {
        self.tag = tag
        self.dataset = dataset
        self.batchSampler = batchSampler
        self.collator = collator
        self.workers = Swift.max(0, workers)
        self.pinMemory = pinMemory
        self.prefetch = prefetch > 0 ? prefetch : Swift.max(2, 2 * workers)
    }

    /// Batches handed out in the current epoch.
    public var state: Int {
        lock.lock()
        defer { lock.unlock() }
        return consumed
    }

    /// Continues after `state` batches of the epoch.
    public func restore(state: Int) {
        lock.lock()
        consumed = Swift.max(0, state)
        lock.unlock()
    }

    /// Number of batches in an epoch.
    public func count() throws -> Int { try batchSampler.batches().count }

    /// The remaining batches of the epoch, in order; `state` advances as they are taken.
    public func makeIterator() throws -> Iterator {
        let batches = try batchSampler.batches()
        return Iterator(loader: self, batches: Array(batches.dropFirst(state)))
    }

    fileprivate func advance() {
        lock.lock()
        consumed += 1
        lock.unlock()
    }

    fileprivate func load(_ indices: [Int]) throws -> DatasetBatch {
        let batch = try collator.collate(indices.map { try dataset.sample(at: $0) })
        // As PyTorch's loader: pinning needs a GPU; without one `pin_memory` changes nothing.
        guard pinMemory, CUDA.isAvailable else { return batch }
        return DatasetBatch(
            samples: try batch.samples.mapValues { try $0.pinned() }, targets: try batch.targets.mapValues { try $0.pinned() },
            size: batch.size)
    }

    /// Hands out batches in order while workers prepare the next ones.
    public final class Iterator {
        private let loader: DataLoader
        private let batches: [[Int]]
        private var position = 0
        private let buffer = PrefetchBuffer()
        private var scheduled = 0
        private let queue: DispatchQueue?
        /// Seconds the consumer waited for data, for the training loop's report.
        public private(set) var waitSeconds = 0.0

        fileprivate init(loader: DataLoader, batches: [[Int]]) {
            self.loader = loader
            self.batches = batches
            queue = loader.workers > 0 ? DispatchQueue(label: "modalities.dataloader.\(loader.tag)", attributes: .concurrent) : nil
            schedule()
        }

        private func schedule() {
            guard let queue else { return }
            while scheduled < batches.count && scheduled < position + loader.prefetch {
                let slot = scheduled
                let indices = batches[slot]
                scheduled += 1
                queue.async { [loader, buffer] in
                    buffer.put(Result { try loader.load(indices) }, at: slot)
                }
            }
        }

        /// The next batch, or nil at the end of the epoch.
        public func nextBatch() throws -> DatasetBatch? {
            guard position < batches.count else { return nil }
            let batch: Result<DatasetBatch, Error>
            if queue == nil {
                batch = Result { try loader.load(batches[position]) }
            } else {
                let start = DispatchTime.now()
                batch = buffer.take(position)
                waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            }
            position += 1
            loader.advance()
            schedule()
            return try batch.get()
        }
    }
}

/// Batches finished by workers, waiting for the consumer; guarded by its condition.
private final class PrefetchBuffer: @unchecked Sendable {
    private let condition = NSCondition()
    private var results: [Int: Result<DatasetBatch, Error>] = [:]

    func put(_ result: Result<DatasetBatch, Error>, at slot: Int) {
        condition.lock()
        results[slot] = result
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the batch at `slot` and removes it.
    func take(_ slot: Int) -> Result<DatasetBatch, Error> {
        condition.lock()
        defer { condition.unlock() }
        while results[slot] == nil { condition.wait() }
        return results.removeValue(forKey: slot)!
    }
}
