// Data loader throughput (batches/s) for the batch shape the CPU training reference uses (8 × 256 tokens),
// next to what training consumes on this machine. `make bench` runs it.
import DataLoading
import Dispatch
import Foundation

let data = ProcessInfo.processInfo.environment["MODALITIES_TEST_DATA"] ?? "../shared/data"
let dataset = try PackedContinuousDataset(path: data + "/modalities/lorem_ipsum_long.pbin", sequenceLength: 256, sampleKey: "input_ids")
print("data loader, lorem_ipsum_long.pbin, batches of 8 × 256 tokens, shuffled")
for workers in [0, 2] {
    let sampler = try DistributedSampler(datasetCount: dataset.count, rank: 0, replicas: 1, shuffle: true, seed: 1, dropLast: true)
    let loader = DataLoader(
        tag: "train", dataset: dataset, batchSampler: try BatchSampler(sampler: sampler, batchSize: 8, dropLast: true),
        collator: GPT2LLMCollator(sampleKey: "input_ids", targetKey: "target_ids"), workers: workers)
    let start = DispatchTime.now()
    var batches = 0
    let iterator = try loader.makeIterator()
    while try iterator.nextBatch() != nil { batches += 1 }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    print(
        String(
            format: "%d workers: %6.0f batches/s (%d batches in %.3f s, consumer waited %.3f s)",
            workers, Double(batches) / seconds, batches, seconds, iterator.waitSeconds))
}
// The CPU reference in shared/notes: 2,882 tokens/s for a 4-layer d256 GPT at 8 × 256, i.e. 1.4 batches/s.
print("training on this machine consumes about 1.4 batches/s of this shape (2,882 tokens/s, PyTorch CPU reference)")
