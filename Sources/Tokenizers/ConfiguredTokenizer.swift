/// A tokenizer with Modalities' `pretrained_hf_tokenizer` options: truncation to `max_length` and padding.
public struct ConfiguredTokenizer: Tokenizer {
    /// How single sequences are padded (Hugging Face's `padding`).
    public enum Padding: Sendable, Equatable {
        /// No padding (`False`, and `True`/`"longest"` for a single sequence).
        case none
        /// Pad to `max_length` with the pad token (`"max_length"`).
        case maxLength
    }

    public let base: any Tokenizer
    public let maxLength: Int?
    public let truncation: Bool
    public let padding: Padding
    public let padID: Int?

    /// - Throws: ``TokenizerError`` when padding to a length has no length or no pad token.
    public init(base: any Tokenizer, maxLength: Int?, truncation: Bool, padding: Padding, padID: Int?) throws {
        if padding == .maxLength {
            guard maxLength != nil else { throw TokenizerError.unsupported(path: "", feature: "padding to max_length without max_length") }
            guard padID != nil else {
                throw TokenizerError.unsupported(path: "", feature: "padding without a pad token (set special_tokens.pad_token)")
            }
        }
        if truncation && maxLength == nil {
            throw TokenizerError.unsupported(path: "", feature: "truncation without max_length")
        }
        self.base = base
        self.maxLength = maxLength
        self.truncation = truncation
        self.padding = padding
        self.padID = padID
    }

    public var vocabularySize: Int { base.vocabularySize }
    public func tokenID(_ token: String) -> Int? { base.tokenID(token) }
    public func decode(_ ids: [Int]) -> String { base.decode(ids) }

    public func encode(_ text: String) -> [Int] {
        var ids = base.encode(text)
        if truncation, let maxLength, ids.count > maxLength { ids.removeLast(ids.count - maxLength) }
        if padding == .maxLength, let maxLength, let padID, ids.count < maxLength {
            ids.append(contentsOf: repeatElement(padID, count: maxLength - ids.count))
        }
        return ids
    }
}
