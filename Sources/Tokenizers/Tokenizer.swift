/// Turns text into token ids and back.
///
/// Implementations are immutable after loading, so one instance may encode from many threads at once.
public protocol Tokenizer: Sendable {
    /// Number of ids the tokenizer can produce (the largest id plus one).
    var vocabularySize: Int { get }
    /// The ids of `text`, with the special tokens the tokenizer itself adds (a BOS for Llama 2, none for GPT-2).
    func encode(_ text: String) -> [Int]
    /// The text of `ids`; bytes that do not form valid UTF-8 become U+FFFD.
    func decode(_ ids: [Int]) -> String
    /// The id of a token written exactly as in the vocabulary ("<|endoftext|>", "</s>").
    func tokenID(_ token: String) -> Int?
}

extension Tokenizer {
    /// Encodes many documents, in parallel over `threads` threads; results keep the input order.
    public func encodeBatch(_ texts: [String], threads: Int = 0) -> [[Int]] {
        ParallelMap.map(texts, threads: threads) { [self] in encode($0) }
    }
}

/// A problem loading a tokenizer, naming the file.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupported(path: String, feature: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read tokenizer file: \(reason)"
        case let .malformed(path, reason): return "\(path): malformed tokenizer file: \(reason)"
        case let .unsupported(path, feature): return "\(path): unsupported tokenizer feature: \(feature)"
        }
    }
}
