/// Hugging Face's SentencePiece-style BPE (`tokenizer.json` of Llama 2, Mistral): spaces become `▁`, words are
/// merged character by character by merge rank, characters outside the vocabulary fall back to `<0xXX>` bytes.
///
/// It follows the `tokenizers` library, which differs from the `sentencepiece` library on runs of spaces.
public struct MetaspaceBPETokenizer: Tokenizer {
    /// When `▁` is put in front of a text segment.
    enum PrependScheme: String {
        case always, first, never
    }

    /// A text rewrite from the `normalizer` section.
    enum Normalization {
        case prepend(String)
        case replace(String, String)
    }

    let model: BytePairModel
    let vocabulary: [String: Int]
    /// Ids of single-character tokens by scalar value (words are split into Unicode scalars, as Rust's `chars()`).
    let characterIDs: [UInt32: Int]
    let tokenStrings: [String]
    let byteIDs: [Int]
    let byteValues: [Int: UInt8]
    let unknownID: Int?
    var specials: SpecialTokens
    let normalizations: [Normalization]
    /// The Metaspace pre-tokenizer, when there is one.
    let prependScheme: PrependScheme?
    let splitWords: Bool
    let prefixIDs: [Int]
    let suffixIDs: [Int]
    /// The decoder strips this many leading spaces (Strip decoder or Metaspace's prefix).
    let stripLeadingSpaces: Int

    static let replacement = "\u{2581}"

    public var vocabularySize: Int { Swift.max(tokenStrings.count, (specials.contents.keys.max() ?? -1) + 1) }

    public func tokenID(_ token: String) -> Int? { specials.ids[token] ?? vocabulary[token] }

    public func encode(_ text: String) -> [Int] {
        var ids = prefixIDs
        for segment in specials.segments(Array(text.utf8)) {
            switch segment {
            case .special(let id):
                ids.append(id)
            case .text(let slice):
                encodeSegment(String(decoding: slice, as: UTF8.self), isFirst: slice.startIndex == 0, into: &ids)
            }
        }
        ids.append(contentsOf: suffixIDs)
        return ids
    }

    private func encodeSegment(_ text: String, isFirst: Bool, into ids: inout [Int]) {
        var text = text
        for step in normalizations {
            switch step {
            case .prepend(let prefix): text = prefix + text
            case .replace(let pattern, let content): text = text.replacingAll(pattern, with: content)
            }
        }
        var scalars = Array(text.unicodeScalars)
        if let scheme = prependScheme {
            for index in scalars.indices where scalars[index] == " " { scalars[index] = Self.replacementScalar }
            let prepend = scheme == .always || (scheme == .first && isFirst)
            if prepend && scalars.first != Self.replacementScalar { scalars.insert(Self.replacementScalar, at: 0) }
        }
        var start = 0
        while start < scalars.count {
            var end = start + 1
            if splitWords {
                while end < scalars.count && scalars[end] != Self.replacementScalar { end += 1 }
            } else {
                end = scalars.count
            }
            var symbols: [Int] = []
            symbols.reserveCapacity(end - start)
            for scalar in scalars[start..<end] {
                if let id = characterIDs[scalar.value] {
                    symbols.append(id)
                } else if !byteIDs.isEmpty {
                    var bytes: [UInt8] = []
                    appendUTF8(scalar, to: &bytes)
                    symbols.append(contentsOf: bytes.map { byteIDs[Int($0)] })
                } else if let unknownID {
                    symbols.append(unknownID)
                }
            }
            model.merge(&symbols)
            ids.append(contentsOf: symbols)
            start = end
        }
    }

    static let replacementScalar: Unicode.Scalar = "\u{2581}"

    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if let special = specials.contents[id] {
                bytes.append(contentsOf: special)
            } else if let byte = byteValues[id] {
                bytes.append(byte)
            } else if id >= 0 && id < tokenStrings.count {
                bytes.append(contentsOf: tokenStrings[id].replacingAll(Self.replacement, with: " ").utf8)
            }
        }
        var text = String(decoding: bytes, as: UTF8.self)
        for _ in 0..<stripLeadingSpaces where text.hasPrefix(" ") { text.removeFirst() }
        return text
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation-free).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
