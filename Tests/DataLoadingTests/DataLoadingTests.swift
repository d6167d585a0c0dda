import DataFormats
import Foundation
import TestSupport
import Testing
import Torch

@testable import DataLoading

let modalitiesFolder = TestData.path("modalities")

@Suite struct PackedDatasetTests {
    let long = modalitiesFolder + "/lorem_ipsum_long.pbin"

    @Test func continuousBlocksFollowModalitiesFormula() throws {
        let dataset = try PackedContinuousDataset(path: long, sequenceLength: 256, sampleKey: "input_ids")
        // (T − block) / (block − 1) + 1 with T = 332,875 and block = 257.
        #expect(dataset.count == (332_875 - 257) / 256 + 1)
        let file = try PackedDataFile(path: long)
        let first = try #require(try dataset.sample(at: 0)["input_ids"])
        let second = try #require(try dataset.sample(at: 1)["input_ids"])
        #expect(first.count == 257 && first == file.tokens(in: 0..<257))
        #expect(second.first == first.last)  // the last target is reused as the next input
        let last = try #require(try dataset.sample(at: dataset.count - 1)["input_ids"])
        #expect(last == file.tokens(in: (dataset.count - 1) * 256..<((dataset.count - 1) * 256 + 257)))
        let disjoint = try PackedContinuousDataset(path: long, sequenceLength: 256, sampleKey: "input_ids", reuseLastTarget: false)
        // Without reuse, blocks are sequence_length tokens (Modalities main), so padded documents align with them.
        #expect(disjoint.count == 332_875 / 256)
        #expect(try disjoint.sample(at: 1)["input_ids"] == file.tokens(in: 256..<512))
        #expect(throws: DatasetError.self) { try dataset.sample(at: dataset.count) }
    }

    @Test func megatronBlocksStartAtDocumentBoundaries() throws {
        let dataset = try PackedMegatronDataset(path: long, sequenceLength: 512, sampleKey: "input_ids")
        let file = try PackedDataFile(path: long)
        var boundaries = Set<Int>()
        var position = 0
        for document in file.documents {
            boundaries.insert(position)
            position += document.length / 2
        }
        #expect(dataset.count > 0)
        for index in 0..<dataset.count {
            let tokens = try #require(try dataset.sample(at: index)["input_ids"])
            #expect(tokens.count == 512)
        }
        #expect(try dataset.sample(at: 0)["input_ids"] == file.tokens(in: 0..<512))
    }

    @Test func combinedAndDummyDatasets() throws {
        let a = DummyDataset(count: 3, fields: [.init(key: "x", length: 4, upperBound: 10)], seed: 1)
        let b = DummyDataset(count: 2, fields: [.init(key: "x", length: 4, upperBound: 10)], seed: 2)
        let combined = CombinedDataset([a, b])
        #expect(combined.count == 5)
        #expect(try combined.sample(at: 3) == b.sample(at: 0))
        #expect(try a.sample(at: 1) == a.sample(at: 1))
        #expect(try a.sample(at: 1)["x"]!.allSatisfy { (0..<10).contains($0) })
    }
}

@Suite struct SamplerTests {
    @Test func shuffledOrderEqualsPyTorchsDistributedSampler() throws {
        // Golden values from torch.utils.data.DistributedSampler (PyTorch 2.15), 1,300 samples, seed 42, epoch 3.
        let rank0 = try DistributedSampler(datasetCount: 1300, rank: 0, replicas: 2, shuffle: true, seed: 42, epoch: 3, dropLast: true)
            .indices()
        let rank1 = try DistributedSampler(datasetCount: 1300, rank: 1, replicas: 2, shuffle: true, seed: 42, epoch: 3, dropLast: true)
            .indices()
        #expect(rank0.count == 650 && Array(rank0.prefix(12)) == [7, 1201, 532, 1167, 251, 1297, 723, 46, 17, 1234, 322, 641])
        #expect(rank0.reduce(0, +) == 413_951)
        #expect(Array(rank1.prefix(12)) == [555, 1268, 929, 284, 975, 356, 459, 958, 543, 206, 999, 1276])
        #expect(rank1.reduce(0, +) == 430_399)
        let padded = try DistributedSampler(datasetCount: 1300, rank: 2, replicas: 3, shuffle: true, seed: 7, dropLast: false).indices()
        #expect(padded.count == 434 && Array(padded.prefix(8)) == [487, 807, 168, 773, 666, 626, 856, 334])
        #expect(Array(padded.suffix(3)) == [1206, 1271, 1058] && padded.reduce(0, +) == 279_196)
    }

    @Test(arguments: [1, 2, 4])
    func resumingAfterKBatchesGivesTheRemainingBatches(_ replicas: Int) throws {
        let dataset = try PackedContinuousDataset(
            path: modalitiesFolder + "/lorem_ipsum_long.pbin", sequenceLength: 64, sampleKey: "input_ids")
        let batchSize = 3
        for rank in 0..<replicas {
            func loader(skipping samples: Int) throws -> DataLoader {
                let sampler = try DistributedSampler(
                    datasetCount: dataset.count, rank: rank, replicas: replicas, shuffle: true,
                    seed: 11, dropLast: true, skippedGlobalSamples: samples)
                return DataLoader(
                    tag: "train", dataset: dataset, batchSampler: try BatchSampler(sampler: sampler, batchSize: batchSize, dropLast: true),
                    collator: GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids"), workers: 2)
            }
            let full = try loader(skipping: 0)
            var uninterrupted: [[Int]] = []
            let iterator = try full.makeIterator()
            while let batch = try iterator.nextBatch() { uninterrupted.append(try batch.samples["input_ids"]!.toArray(Int.self)) }
            // Resume through the sampler (Modalities' skip_num_global_samples) after k batches on every rank...
            let k = 5
            let resumed = try loader(skipping: k * batchSize * replicas)
            var rest: [[Int]] = []
            let resumedIterator = try resumed.makeIterator()
            while let batch = try resumedIterator.nextBatch() { rest.append(try batch.samples["input_ids"]!.toArray(Int.self)) }
            #expect(rest == Array(uninterrupted.dropFirst(k)), "rank \(rank) of \(replicas)")
            // ...and through the loader's own state.
            let restored = try loader(skipping: 0)
            restored.restore(state: k)
            var fromState: [[Int]] = []
            let stateIterator = try restored.makeIterator()
            while let batch = try stateIterator.nextBatch() { fromState.append(try batch.samples["input_ids"]!.toArray(Int.self)) }
            #expect(fromState == Array(uninterrupted.dropFirst(k)))
            #expect(restored.state == uninterrupted.count)
        }
    }

    @Test func sequentialAndBatchSamplers() throws {
        let batches = try BatchSampler(sampler: SequentialSampler(count: 7), batchSize: 3, dropLast: false).batches()
        #expect(batches == [[0, 1, 2], [3, 4, 5], [6]])
        #expect(try BatchSampler(sampler: SequentialSampler(count: 7), batchSize: 3, dropLast: true).batches().count == 2)
        #expect(throws: DatasetError.self) { try DistributedSampler(datasetCount: 10, rank: 2, replicas: 2, shuffle: false) }
    }
}

@Suite struct LoaderTests {
    @Test func collatorShiftsTargetsByOne() throws {
        let batch = try GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids")
            .collate([Sample(["input_ids": [1, 2, 3, 4]]), Sample(["input_ids": [5, 6, 7, 8]])])
        #expect(try batch.samples["input_ids"]!.toArray(Int.self) == [1, 2, 3, 5, 6, 7])
        #expect(try batch.targets["target_ids"]!.toArray(Int.self) == [2, 3, 4, 6, 7, 8])
        #expect(batch.samples["input_ids"]!.shape == [2, 3])
        #expect(throws: DatasetError.self) { try GPT2LLMCollator(sampleKey: "x", targetKey: "y").collate([Sample(["input_ids": [1, 2]])]) }
    }

    @Test func orderIsTheSameWhateverTheWorkerCount() throws {
        let dataset = DummyDataset(count: 40, fields: [.init(key: "input_ids", length: 9, upperBound: 1000)], seed: 3)
        var results: [[[Int]]] = []
        for workers in [0, 1, 4] {
            let sampler = try DistributedSampler(datasetCount: 40, rank: 0, replicas: 1, shuffle: true, seed: 5)
            let loader = DataLoader(
                tag: "t", dataset: dataset, batchSampler: try BatchSampler(sampler: sampler, batchSize: 4, dropLast: false),
                collator: GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids"), workers: workers)
            var batches: [[Int]] = []
            let iterator = try loader.makeIterator()
            while let batch = try iterator.nextBatch() { batches.append(try batch.targets["target_ids"]!.toArray(Int.self)) }
            results.append(batches)
        }
        #expect(results[0].count == 10)
        #expect(results[0] == results[1] && results[1] == results[2])
    }

    /// `pin_memory` pins only when a GPU is in use (as PyTorch's loader, which warns and skips without one).
    @Test func pinMemoryWithoutAGPULeavesBatchesAsTheyAre() throws {
        let dataset = DummyDataset(count: 8, fields: [.init(key: "input_ids", length: 5, upperBound: 100)], seed: 1)
        var batches: [[Int]] = []
        for pin in [false, true] {
            let sampler = try DistributedSampler(datasetCount: 8, rank: 0, replicas: 1, shuffle: false, seed: 0)
            let loader = DataLoader(
                tag: "t", dataset: dataset, batchSampler: try BatchSampler(sampler: sampler, batchSize: 4, dropLast: false),
                collator: GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids"), workers: 1, pinMemory: pin)
            let batch = try #require(try loader.makeIterator().nextBatch())
            #expect(try !batch.samples["input_ids"]!.isPinned())
            batches.append(try batch.samples["input_ids"]!.toArray(Int.self))
        }
        #expect(batches[0] == batches[1])
    }
}
