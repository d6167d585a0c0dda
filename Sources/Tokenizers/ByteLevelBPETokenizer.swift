/// Byte-level BPE (GPT-2, Llama 3): text is split by a pattern, each piece's UTF-8 bytes are merged by rank.
public struct ByteLevelBPETokenizer: Tokenizer {
    let model: BytePairModel
    /// The id of each single byte.
    let byteIDs: [Int]
    /// The bytes of each id (empty for ids that are only special tokens).
    let tokenBytes: [[UInt8]]
    let pattern: SplitPattern?
    let addPrefixSpace: Bool
    var specials: SpecialTokens
    /// Ids added around every encoded text (a BOS from a template post-processor).
    let prefixIDs: [Int]
    let suffixIDs: [Int]
    /// Token strings as the vocabulary writes them, for ``tokenID(_:)``.
    let vocabulary: [String: Int]

    public var vocabularySize: Int { Swift.max(tokenBytes.count, (specials.contents.keys.max() ?? -1) + 1) }

    public func tokenID(_ token: String) -> Int? {
        specials.ids[token] ?? vocabulary[token]
    }

    public func encode(_ text: String) -> [Int] {
        var ids = prefixIDs
        ids.reserveCapacity(text.utf8.count / 3 + prefixIDs.count + suffixIDs.count)
        for segment in specials.segments(Array(text.utf8)) {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let bytes): encodeOrdinary(bytes, into: &ids)
            }
        }
        ids.append(contentsOf: suffixIDs)
        return ids
    }

    /// Encodes text that holds no special tokens.
    func encodeOrdinary(_ bytes: ArraySlice<UInt8>, into ids: inout [Int]) {
        var text = String(decoding: bytes, as: UTF8.self)
        if addPrefixSpace && !text.hasPrefix(" ") { text = " " + text }
        guard let pattern else {
            mergePiece(Array(text.utf8), into: &ids)
            return
        }
        let scalars = Array(text.unicodeScalars)
        var piece: [UInt8] = []
        for range in pattern.split(scalars) {
            piece.removeAll(keepingCapacity: true)
            for scalar in scalars[range] { appendUTF8(scalar, to: &piece) }
            mergePiece(piece, into: &ids)
        }
    }

    private func mergePiece(_ bytes: [UInt8], into ids: inout [Int]) {
        var symbols = bytes.map { byteIDs[Int($0)] }
        model.merge(&symbols)
        ids.append(contentsOf: symbols)
    }

    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if let special = specials.contents[id] {
                bytes.append(contentsOf: special)
            } else if id >= 0 && id < tokenBytes.count {
                bytes.append(contentsOf: tokenBytes[id])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
    let value = scalar.value
    switch value {
    case 0..<0x80:
        bytes.append(UInt8(value))
    case 0x80..<0x800:
        bytes.append(UInt8(0xC0 | (value >> 6)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    case 0x800..<0x10000:
        bytes.append(UInt8(0xE0 | (value >> 12)))
        bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    default:
        bytes.append(UInt8(0xF0 | (value >> 18)))
        bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
        bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    }
}
