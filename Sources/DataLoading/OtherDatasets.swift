import DataFormats
import Foundation
import Tokenizers

/// JSONL lines tokenized when read, through a raw index (`dataset/mem_map_dataset`).
public final class TokenizedJSONLDataset: Dataset {
    public let path: String
    public let sampleKey: String
    private let tokenizer: any Tokenizer
    private let jsonPath: JSONPath
    private let entries: [(Int, Int)]
    private let data: Data

    public var count: Int { entries.count }

    public init(path: String, indexPath: String?, tokenizer: any Tokenizer, jqPattern: String, sampleKey: String) throws {
        guard let jsonPath = JSONPath(jqPattern) else {
            throw DatasetError.invalidArgument("jq_pattern '\(jqPattern)' is not a key path such as .text")
        }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw DataFormatError.unreadable(path: path, reason: "no such file or not readable")
        }
        let defaultIndex = (path as NSString).deletingPathExtension + ".idx"
        if let index = indexPath ?? (FileManager.default.fileExists(atPath: defaultIndex) ? defaultIndex : nil) {
            entries = try RawIndex.read(index)
        } else {
            entries = try RawIndex.build(jsonl: path).entries
        }
        for (number, (offset, length)) in entries.enumerated() where offset < 0 || offset + length > data.count {
            throw DataFormatError.malformed(
                path: path, reason: "index entry \(number) lies outside the file; is the index for another file?")
        }
        self.path = path
        self.sampleKey = sampleKey
        self.tokenizer = tokenizer
        self.jsonPath = jsonPath
        self.data = data
    }

    public func sample(at index: Int) throws -> Sample {
        guard (0..<count).contains(index) else { throw DatasetError.indexOutOfRange(index: index, count: count) }
        let (offset, length) = entries[index]
        let record = data[(data.startIndex + offset)..<(data.startIndex + offset + length)]
        switch jsonPath.text(in: record) {
        case .success(let text): return Sample([sampleKey: tokenizer.encode(text)])
        case .failure(let problem): throw DataFormatError.invalidLine(path: path, line: index + 1, reason: problem.description)
        }
    }
}

/// Several datasets one after the other (`dataset/combined`).
public final class CombinedDataset: Dataset {
    public let parts: [any Dataset]
    private let offsets: [Int]
    public let count: Int

    public init(_ parts: [any Dataset]) {
        self.parts = parts
        var offsets: [Int] = []
        var total = 0
        for part in parts {
            offsets.append(total)
            total += part.count
        }
        self.offsets = offsets
        count = total
    }

    public func sample(at index: Int) throws -> Sample {
        guard (0..<count).contains(index) else { throw DatasetError.indexOutOfRange(index: index, count: count) }
        let part = offsets.lastIndex { $0 <= index }!
        return try parts[part].sample(at: index - offsets[part])
    }
}

/// Random samples of given shapes, for smoke tests and profiling (`dataset/dummy_dataset`): integers drawn uniformly
/// below a bound, or real numbers from the standard normal (Modalities' `sample_type: float`, e.g. images); the same
/// seed and index always give the same sample.
public final class DummyDataset: Dataset {
    public struct Field: Sendable {
        public var key: String
        public var length: Int
        /// Values are drawn from 0..<upperBound (integer fields).
        public var upperBound: Int
        /// The shape of a real-valued field; nil for integer fields (token ids, flattened to `length`).
        public var realShape: [Int]?

        /// An integer field of `length` values below `upperBound`.
        public init(key: String, length: Int, upperBound: Int) {
            self.key = key
            self.length = length
            self.upperBound = upperBound
            self.realShape = nil
        }

        /// A real-valued field of `shape`, drawn from the standard normal.
        public init(key: String, normalOfShape shape: [Int]) {
            self.key = key
            self.length = shape.reduce(1, *)
            self.upperBound = 0
            self.realShape = shape
        }
    }

    public let count: Int
    public let fields: [Field]
    public let seed: UInt64

    public init(count: Int, fields: [Field], seed: UInt64 = 0) {
        self.count = count
        self.fields = fields
        self.seed = seed
    }

    /// The sample of `index`. Any index at or above `count` gives a sample too: Modalities' dummy dataset ignores the
    /// index and draws a new sample on every access, and its CoCa example's evaluation sampler counts the training
    /// set's 64 samples over a 32-sample dataset.
    public func sample(at index: Int) throws -> Sample {
        guard index >= 0 else { throw DatasetError.indexOutOfRange(index: index, count: count) }
        var generator = SeededRandom(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
        var values: [String: [Int]] = [:]
        var arrays: [String: RealArray] = [:]
        for field in fields {
            if let shape = field.realShape {
                arrays[field.key] = try RealArray(shape: shape, values: Self.normals(field.length, using: &generator))
            } else {
                values[field.key] = (0..<field.length).map { _ in Int(generator.next() % UInt64(Swift.max(field.upperBound, 1))) }
            }
        }
        return Sample(values, arrays: arrays)
    }

    /// `count` standard normal draws (Box–Muller on 53-bit uniforms in (0, 1]).
    static func normals(_ count: Int, using generator: inout SeededRandom) -> [Float] {
        var result: [Float] = []
        result.reserveCapacity(count + 1)
        while result.count < count {
            let u1 = Double((generator.next() >> 11) + 1) / 9_007_199_254_740_992
            let u2 = Double(generator.next() >> 11) / 9_007_199_254_740_992
            let radius = (-2 * Foundation.log(u1)).squareRoot()
            result.append(Float(radius * Foundation.cos(2 * Double.pi * u2)))
            result.append(Float(radius * Foundation.sin(2 * Double.pi * u2)))
        }
        return Array(result.prefix(count))
    }
}
