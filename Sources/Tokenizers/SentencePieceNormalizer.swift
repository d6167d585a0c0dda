/// SentencePiece's normalizer: the precompiled character map (NFKC and friends, a darts-clone double array),
/// dummy-prefix and whitespace handling, and `▁` for spaces.
struct SentencePieceNormalizer: Sendable {
    static let spaceSymbol: [UInt8] = Array("\u{2581}".utf8)

    private let trieUnits: [UInt32]
    private let replacements: [UInt8]
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    /// User-defined symbols pass through unnormalized.
    let userDefined: ByteTrie

    init(model: SentencePieceModel, userDefined: ByteTrie, path: String) throws {
        addDummyPrefix = model.addDummyPrefix
        removeExtraWhitespaces = model.removeExtraWhitespaces
        escapeWhitespaces = model.escapeWhitespaces
        self.userDefined = userDefined
        let map = model.precompiledCharsMap
        guard !map.isEmpty else {
            trieUnits = []
            replacements = []
            return
        }
        guard map.count >= 4 else { throw TokenizerError.malformed(path: path, reason: "precompiled_charsmap is shorter than its header") }
        let trieSize = Int(map[0]) | Int(map[1]) << 8 | Int(map[2]) << 16 | Int(map[3]) << 24
        guard trieSize % 4 == 0, 4 + trieSize <= map.count else {
            throw TokenizerError.malformed(path: path, reason: "precompiled_charsmap trie size \(trieSize) does not fit")
        }
        trieUnits = stride(from: 4, to: 4 + trieSize, by: 4).map {
            UInt32(map[$0]) | UInt32(map[$0 + 1]) << 8 | UInt32(map[$0 + 2]) << 16 | UInt32(map[$0 + 3]) << 24
        }
        replacements = Array(map[(4 + trieSize)...])
    }

    /// Whether only whitespace escaping and the dummy prefix apply (Llama 2, Mistral), which needs no lookups.
    private var isIdentity: Bool { trieUnits.isEmpty && userDefined.isEmpty && !removeExtraWhitespaces }

    /// The normalized UTF-8 bytes of `text`.
    func normalize(_ text: String) -> [UInt8] {
        if isIdentity { return escapeOnly(text) }
        let bytes = Array(text.utf8)
        var input = bytes[...]
        var output: [UInt8] = []
        output.reserveCapacity(input.count + 8)
        guard !input.isEmpty else { return output }
        if removeExtraWhitespaces {
            while !input.isEmpty {
                let (piece, consumed) = normalizePrefix(bytes, at: input.startIndex)
                guard piece.elementsEqual([32]) else { break }
                input = input.dropFirst(consumed)
            }
            if input.isEmpty { return output }
        }
        if addDummyPrefix { output.append(contentsOf: escapeWhitespaces ? Self.spaceSymbol : [32]) }
        var previousWasSpace = removeExtraWhitespaces
        while !input.isEmpty {
            let (normalized, consumed) = normalizePrefix(bytes, at: input.startIndex)
            var piece = normalized[...]
            while previousWasSpace && piece.first == 32 { piece = piece.dropFirst() }
            if !piece.isEmpty {
                for byte in piece {
                    if escapeWhitespaces && byte == 32 { output.append(contentsOf: Self.spaceSymbol) } else { output.append(byte) }
                }
                previousWasSpace = piece.last == 32
            }
            input = input.dropFirst(consumed)
            if !removeExtraWhitespaces { previousWasSpace = false }
        }
        if removeExtraWhitespaces {
            let trailing = escapeWhitespaces ? Self.spaceSymbol : [32]
            while output.count >= trailing.count && Array(output.suffix(trailing.count)) == trailing {
                output.removeLast(trailing.count)
            }
        }
        return output
    }

    /// Spaces to `▁` and the dummy prefix, nothing else.
    private func escapeOnly(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 16)
        guard !text.isEmpty else { return output }
        let space: [UInt8] = escapeWhitespaces ? Self.spaceSymbol : [32]
        if addDummyPrefix { output.append(contentsOf: space) }
        for byte in text.utf8 {
            if byte == 32 { output.append(contentsOf: space) } else { output.append(byte) }
        }
        return output
    }

    /// The replacement for the longest rule matching at `start`, and how many bytes it consumes.
    private func normalizePrefix(_ bytes: [UInt8], at start: Int) -> (ArraySlice<UInt8>, Int) {
        if let match = userDefined.longestPrefix(of: bytes, from: start) {
            return (bytes[start..<(start + match.length)], match.length)
        }
        if let (length, offset) = longestRule(bytes, from: start) {
            var end = offset
            while end < replacements.count && replacements[end] != 0 { end += 1 }
            return (replacements[offset..<end], length)
        }
        let length = Swift.min(utf8Length(bytes[start]), bytes.count - start)
        return (bytes[start..<(start + length)], length)
    }

    /// darts-clone's commonPrefixSearch, keeping the longest hit.
    private func longestRule(_ key: [UInt8], from start: Int) -> (length: Int, value: Int)? {
        guard !trieUnits.isEmpty else { return nil }
        func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
        var position = offset(trieUnits[0])
        var best: (Int, Int)?
        for index in 0..<(key.count - start) {
            let byte = key[start + index]
            position ^= Int(byte)
            guard position < trieUnits.count else { break }
            let unit = trieUnits[position]
            guard unit & (0x8000_0000 | 0xFF) == UInt32(byte) else { break }
            position ^= offset(unit)
            guard position < trieUnits.count else { break }
            if (unit >> 8) & 1 == 1 { best = (index + 1, Int(trieUnits[position] & 0x7FFF_FFFF)) }
        }
        return best
    }
}

/// Bytes in the UTF-8 sequence that starts with `lead`.
func utf8Length(_ lead: UInt8) -> Int {
    switch lead {
    case 0..<0x80: return 1
    case 0xC0..<0xE0: return 2
    case 0xE0..<0xF0: return 3
    case 0xF0..<0xF8: return 4
    default: return 1
    }
}
