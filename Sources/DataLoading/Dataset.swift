/// One training example: token sequences by key (`input_ids` → tokens), and arrays of real numbers by key (images),
/// as Modalities' datasets return them.
public struct Sample: Sendable, Equatable {
    public var values: [String: [Int]]
    /// Floating-point arrays (e.g. an image as channels × height × width) by key.
    public var arrays: [String: RealArray]

    public init(_ values: [String: [Int]], arrays: [String: RealArray] = [:]) {
        self.values = values
        self.arrays = arrays
    }

    public subscript(key: String) -> [Int]? { values[key] }

    /// Every key the sample holds, sorted.
    public var keys: [String] { (Array(values.keys) + Array(arrays.keys)).sorted() }
}

/// A float32 array with its shape (row-major), as one sample's image or other real-valued input.
public struct RealArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    /// Throws when `values` does not hold exactly the elements of `shape`.
    public init(shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw DatasetError.invalidArgument("an array of shape \(shape) needs \(shape.reduce(1, *)) values, found \(values.count)")
        }
        self.shape = shape
        self.values = values
    }
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
