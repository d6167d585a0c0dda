import Foundation
import TestSupport
import Testing
import Tokenizers

@testable import DataLoading

/// PNG and JPEG files through libpng and libjpeg, resizing and normalisation, and the image-caption dataset.
@Suite struct ImageCaptionDatasetTests {
    static func folder() throws -> String {
        let folder = NSTemporaryDirectory() + "images-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A gradient: red grows to the right, green downwards, blue is constant.
    static func gradient(width: Int, height: Int) throws -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width { pixels += [UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), 77] }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test func pngRoundTripsExactlyAndJPEGClosely() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let image = try Self.gradient(width: 24, height: 16)
        try image.write(to: folder + "/a.png")
        #expect(try RGBImage(contentsOf: folder + "/a.png") == image)
        try image.write(to: folder + "/a.jpg", format: .jpeg(quality: 95))
        let decoded = try RGBImage(contentsOf: folder + "/a.jpg")
        #expect(decoded.width == 24 && decoded.height == 16)
        // JPEG is lossy: a smooth gradient at quality 95 comes back within a few levels on average.
        let error = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / image.pixels.count
        #expect(error <= 3, "mean absolute error \(error)")
    }

    @Test func unreadableFilesAreNamedWithTheReason() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder + "/text.png"))
        #expect(throws: DatasetError.invalidArgument("\(folder)/text.png: neither a PNG nor a JPEG file (by its first bytes)")) {
            try RGBImage(contentsOf: folder + "/text.png")
        }
        // A PNG signature followed by garbage, and a JPEG cut after its header.
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4]).write(to: URL(fileURLWithPath: folder + "/broken.png"))
        #expect(throws: DatasetError.self) { try RGBImage(contentsOf: folder + "/broken.png") }
        try Self.gradient(width: 8, height: 8).write(to: folder + "/whole.jpg", format: .jpeg(quality: 90))
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: folder + "/whole.jpg"))
        try jpeg.prefix(40).write(to: URL(fileURLWithPath: folder + "/cut.jpg"))
        let error = #expect(throws: DatasetError.self) { try RGBImage(contentsOf: folder + "/cut.jpg") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("corrupt JPEG"))
        #expect(throws: DatasetError.self) { try RGBImage(contentsOf: folder + "/missing.png") }
    }

    @Test func resizingAndNormalisation() throws {
        // A constant image stays constant; a 2×1 black-white pair becomes a ramp at pixel centres (PIL's bilinear).
        let grey = try RGBImage(width: 3, height: 5, pixels: Array(repeating: 128, count: 45))
        #expect(try grey.resized(width: 7, height: 2).pixels.allSatisfy { $0 == 128 })
        let pair = try RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
        let ramp = try pair.resized(width: 4, height: 1).pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        #expect(ramp == [0, 64, 191, 255])
        let normalized = try pair.normalized(mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1])
        #expect(normalized.shape == [3, 1, 2])
        #expect(normalized.values == [-1, 1, -2, 2, -0.5, 0.5])
        #expect(throws: DatasetError.self) { try pair.normalized(mean: [0.5], std: [1]) }
    }

    @Test func theDatasetGivesResizedImagesAndPaddedCaptions() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.gradient(width: 20, height: 10).write(to: folder + "/one.png")
        try Self.gradient(width: 8, height: 8).write(to: folder + "/two.jpg", format: .jpeg(quality: 90))
        try """
        {"image": "one.png", "text": "a gradient"}
        {"image": "two.jpg", "text": "a much longer caption that does not fit in eight tokens at all"}

        """.write(toFile: folder + "/captions.jsonl", atomically: true, encoding: .utf8)
        let tokenizer = try HuggingFaceTokenizerLoader.load(TestData.path("modalities/tokenizer/hf_gpt2"))
        let dataset = try ImageCaptionDataset(
            jsonlPath: folder + "/captions.jsonl", tokenizer: tokenizer, endOfDocumentToken: "<|endoftext|>", sequenceLength: 8,
            imageSize: (6, 12))
        #expect(dataset.count == 2)
        let first = try dataset.sample(at: 0)
        #expect(first.arrays["images"]?.shape == [3, 6, 12])
        #expect(first["input_ids"] == tokenizer.encode("a gradient") + Array(repeating: 50256, count: 8 - tokenizer.encode("a gradient").count))
        let second = try dataset.sample(at: 1)
        #expect(second["input_ids"] == Array(tokenizer.encode("a much longer caption that does not fit in eight tokens at all").prefix(8)))
        // Problems name the file and line, or the image.
        try "{\"image\": \"one.png\"}\n".write(toFile: folder + "/bad.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: DatasetError.invalidArgument("\(folder)/bad.jsonl:1: expected a JSON object with string fields 'image' and 'text'")) {
            try ImageCaptionDataset(
                jsonlPath: folder + "/bad.jsonl", tokenizer: tokenizer, endOfDocumentToken: "<|endoftext|>", sequenceLength: 8,
                imageSize: (6, 12))
        }
        try "{\"image\": \"gone.png\", \"text\": \"x\"}\n".write(toFile: folder + "/gone.jsonl", atomically: true, encoding: .utf8)
        let gone = try ImageCaptionDataset(
            jsonlPath: folder + "/gone.jsonl", tokenizer: tokenizer, endOfDocumentToken: "<|endoftext|>", sequenceLength: 8, imageSize: (6, 12))
        #expect(throws: DatasetError.invalidArgument("\(folder)/gone.png: cannot open the file")) { try gone.sample(at: 0) }
    }
}
