/// One training example: token sequences by key (`input_ids` → tokens), as Modalities' datasets return them.
public struct Sample: Sendable, Equatable {
    public var values: [String: [Int]]

    public init(_ values: [String: [Int]]) {
        self.values = values
    }

    public subscript(key: String) -> [Int]? { values[key] }
}

/// A random-access collection of samples (Modalities' `Dataset` interface).
///
/// Implementations are immutable after creation and safe to read from several threads (the loader's workers).
public protocol Dataset: AnyObject, Sendable {
    /// Number of samples.
    var count: Int { get }
    /// The sample at `index` (0..<count).
    func sample(at index: Int) throws -> Sample
}

/// A problem reading or indexing a dataset, naming the file or the index.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case tooFewTokens(path: String, tokens: Int, blockSize: Int)
    case indexOutOfRange(index: Int, count: Int)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .tooFewTokens(path, tokens, blockSize):
            return "\(path): \(tokens) tokens are fewer than one block of \(blockSize)"
        case let .indexOutOfRange(index, count):
            return "sample index \(index) is outside 0..<\(count)"
        case let .invalidArgument(message):
            return message
        }
    }
}
