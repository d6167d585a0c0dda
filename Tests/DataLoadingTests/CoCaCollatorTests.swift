import DataFormats
import Foundation
import Testing
import Torch

@testable import DataLoading

@Suite struct CoCaCollatorTests {
    static let dataset = DummyDataset(
        count: 4,
        fields: [.init(key: "images", normalOfShape: [3, 4, 5]), .init(key: "input_ids", length: 6, upperBound: 512)], seed: 9)

    @Test func floatSamplesAreSeededStandardNormals() throws {
        let sample = try Self.dataset.sample(at: 2)
        #expect(sample == (try Self.dataset.sample(at: 2)))
        #expect(sample != (try Self.dataset.sample(at: 3)))
        let image = try #require(sample.arrays["images"])
        #expect(image.shape == [3, 4, 5] && image.values.count == 60)
        #expect(sample["input_ids"]!.allSatisfy { (0..<512).contains($0) })
        // Many draws: mean 0 and variance 1 within a few standard errors (1/√n = 0.003 for the mean).
        var generator = SeededRandom(seed: 1)
        let draws: [Double] = DummyDataset.normals(100_000, using: &generator).map(Double.init)
        let count = Double(draws.count)
        let mean: Double = draws.reduce(0, +) / count
        let squares: [Double] = draws.map { ($0 - mean) * ($0 - mean) }
        let variance: Double = squares.reduce(0, +) / count
        #expect(abs(mean) < 0.02 && abs(variance - 1) < 0.02, "mean \(mean), variance \(variance)")
        // Modalities' dummy dataset answers any index (it draws a new sample each time).
        #expect(try Self.dataset.sample(at: 40).arrays["images"]?.shape == [3, 4, 5])
    }

    @Test func imagesAreStackedAndTheTextShiftedByOne() throws {
        let collator = try CoCaCollator(
            sampleKeys: ["images", "input_ids"], targetKeys: [], textSampleKey: "input_ids", textTargetKey: "target_ids")
        let samples = try (0..<3).map { try Self.dataset.sample(at: $0) }
        let batch = try collator.collate(samples)
        #expect(batch.size == 3)
        let images = try #require(batch.samples["images"])
        #expect(images.shape == [3, 3, 4, 5] && images.dtype == .float32)
        #expect(try images.select(0, 1).flatten().toArray(Float.self) == samples[1].arrays["images"]!.values)
        let inputs = try #require(batch.samples["input_ids"])
        let targets = try #require(batch.targets["target_ids"])
        #expect(inputs.shape == [3, 5] && targets.shape == [3, 5])
        #expect(try inputs.select(0, 2).toArray(Int64.self).map(Int.init) == Array(samples[2]["input_ids"]!.dropLast()))
        #expect(try targets.select(0, 2).toArray(Int64.self).map(Int.init) == Array(samples[2]["input_ids"]!.dropFirst()))
    }

    @Test func badKeysAndShapesAreNamed() throws {
        #expect(throws: DatasetError.self) {
            try CoCaCollator(sampleKeys: ["images"], targetKeys: [], textSampleKey: "input_ids", textTargetKey: "target_ids")
        }
        #expect(throws: DatasetError.self) {
            try CoCaCollator(sampleKeys: ["input_ids"], targetKeys: ["target_ids"], textSampleKey: "input_ids", textTargetKey: "target_ids")
        }
        let collator = try CoCaCollator(
            sampleKeys: ["images", "input_ids"], targetKeys: [], textSampleKey: "input_ids", textTargetKey: "target_ids")
        let small = try Sample(["input_ids": [1, 2]], arrays: ["images": RealArray(shape: [3, 2, 2], values: Array(repeating: 0, count: 12))])
        let large = try Sample(["input_ids": [1, 2]], arrays: ["images": RealArray(shape: [3, 4, 4], values: Array(repeating: 0, count: 48))])
        #expect(throws: DatasetError.invalidArgument("'images' has different shapes in one batch: [\"[3, 2, 2]\", \"[3, 4, 4]\"]")) {
            try collator.collate([small, large])
        }
        #expect(throws: DatasetError.invalidArgument("a sample has no key 'images' (keys: input_ids)")) {
            try collator.collate([Sample(["input_ids": [1, 2]])])
        }
        #expect(throws: DatasetError.self) { try RealArray(shape: [2, 2], values: [1]) }
    }
}
