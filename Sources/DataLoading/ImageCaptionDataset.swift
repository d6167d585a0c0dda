import Foundation
import Tokenizers

/// Images with their captions, listed in a JSONL file (one `{"image": "cat.png", "text": "a cat"}` per line; image
/// paths relative to the file's folder), as CoCa trains on them. Modalities has no such dataset in main: this is
/// ours (`dataset/image_caption_jsonl`).
///
/// A sample holds the image, decoded (PNG or JPEG), resized bilinearly to `imageSize` and normalised per channel, under
/// `imageKey`, and the caption's token ids followed by the end-of-document token, cut or padded with that token to
/// `sequenceLength` ids, under `textKey`. Files are read when a sample is asked for, so a dataset of any size opens at
/// once and the loader's workers decode in parallel.
public final class ImageCaptionDataset: Dataset {
    public struct Entry: Sendable, Equatable {
        public var imagePath: String
        public var caption: String
    }

    public let entries: [Entry]
    public let imageKey: String
    public let textKey: String
    public let imageSize: (height: Int, width: Int)
    public let sequenceLength: Int
    public let mean: [Double]
    public let std: [Double]
    let tokenizer: any Tokenizer
    let endOfDocument: Int

    public var count: Int { entries.count }

    /// Reads the list; throws naming the file and line for a line that is not a JSON object with both fields.
    public init(
        jsonlPath: String, imageField: String = "image", captionField: String = "text", imageKey: String = "images",
        textKey: String = "input_ids", tokenizer: any Tokenizer, endOfDocumentToken: String, sequenceLength: Int,
        imageSize: (height: Int, width: Int), mean: [Double] = [0.485, 0.456, 0.406], std: [Double] = [0.229, 0.224, 0.225]
    ) throws {
        guard let text = FileManager.default.contents(atPath: jsonlPath).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw DatasetError.invalidArgument("\(jsonlPath): cannot read the file as UTF-8 text")
        }
        guard let endOfDocument = tokenizer.tokenID(endOfDocumentToken) else {
            throw DatasetError.invalidArgument("the tokenizer has no token '\(endOfDocumentToken)' (eod_token)")
        }
        guard sequenceLength >= 2 else { throw DatasetError.invalidArgument("sequence_length must be at least 2, found \(sequenceLength)") }
        guard imageSize.height > 0, imageSize.width > 0 else {
            throw DatasetError.invalidArgument("image_size must be positive, found \(imageSize.height)×\(imageSize.width)")
        }
        try RGBImage.checkNormalization(mean: mean, std: std)
        let folder = URL(fileURLWithPath: jsonlPath).deletingLastPathComponent()
        var entries: [Entry] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any]
            guard let image = object?[imageField] as? String, let caption = object?[captionField] as? String else {
                throw DatasetError.invalidArgument(
                    "\(jsonlPath):\(number + 1): expected a JSON object with string fields '\(imageField)' and '\(captionField)'")
            }
            let path = image.hasPrefix("/") ? image : folder.appendingPathComponent(image).path
            entries.append(Entry(imagePath: path, caption: caption))
        }
        guard !entries.isEmpty else { throw DatasetError.invalidArgument("\(jsonlPath): no images listed") }
        self.entries = entries
        self.imageKey = imageKey
        self.textKey = textKey
        self.tokenizer = tokenizer
        self.endOfDocument = endOfDocument
        self.sequenceLength = sequenceLength
        self.imageSize = imageSize
        self.mean = mean
        self.std = std
    }

    public func sample(at index: Int) throws -> Sample {
        guard entries.indices.contains(index) else { throw DatasetError.indexOutOfRange(index: index, count: count) }
        let entry = entries[index]
        let image = try RGBImage(contentsOf: entry.imagePath).resized(width: imageSize.width, height: imageSize.height)
        var tokens = Array((tokenizer.encode(entry.caption) + [endOfDocument]).prefix(sequenceLength))
        tokens += Array(repeating: endOfDocument, count: sequenceLength - tokens.count)
        return Sample([textKey: tokens], arrays: [imageKey: try image.normalized(mean: mean, std: std)])
    }
}
