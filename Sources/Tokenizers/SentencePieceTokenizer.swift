/// A SentencePiece model (`.model` file), BPE or unigram, giving the same ids as the `sentencepiece` library.
///
/// Like the library's `encode`, no BOS or EOS is added unless asked for.
public struct SentencePieceTokenizer: Tokenizer {
    let model: SentencePieceModel
    let normalizer: SentencePieceNormalizer
    let pieceIDs: [String: Int]
    /// NORMAL, USER_DEFINED and UNUSED pieces by their UTF-8 bytes (what encoding may produce).
    let vocabularyTrie: ByteTrie
    let userDefinedTrie: ByteTrie
    let merges: BytePairModel
    /// Ids of single-character pieces by scalar value (what BPE starts from).
    let characterIDs: [UInt32: Int]
    let byteIDs: [Int]
    let minimumScore: Float
    let maximumScore: Float
    /// Whether ``encode(_:)`` puts the model's BOS first.
    public var addsBOS = false

    /// Loads a `.model` file.
    public init(path: String) throws {
        model = try SentencePieceModel(path: path)
        var ids: [String: Int] = [:]
        var vocabulary = ByteTrie()
        var userDefined = ByteTrie()
        var bytes = [Int](repeating: -1, count: 256)
        var minimum = Float.greatestFiniteMagnitude
        var maximum = -Float.greatestFiniteMagnitude
        for (id, piece) in model.pieces.enumerated() {
            if ids[piece.text] == nil { ids[piece.text] = id }
            switch piece.type {
            case .normal:
                vocabulary.insert(piece.text.utf8, value: id)
                minimum = Swift.min(minimum, piece.score)
                maximum = Swift.max(maximum, piece.score)
            case .userDefined:
                vocabulary.insert(piece.text.utf8, value: id)
                userDefined.insert(piece.text.utf8, value: id)
            case .unused:
                vocabulary.insert(piece.text.utf8, value: id)
            case .byte:
                if let value = Self.byteValue(piece.text) { bytes[Int(value)] = id }
            case .unknown, .control:
                continue
            }
        }
        if model.byteFallback, let missing = bytes.firstIndex(of: -1) {
            throw TokenizerError.malformed(path: path, reason: "byte_fallback is on but byte \(missing) has no <0x..> piece")
        }
        pieceIDs = ids
        var characters: [UInt32: Int] = [:]
        for (id, piece) in model.pieces.enumerated() where piece.type == .normal || piece.type == .userDefined || piece.type == .unused {
            let scalars = piece.text.unicodeScalars
            if scalars.count == 1, characters[scalars.first!.value] == nil { characters[scalars.first!.value] = id }
        }
        characterIDs = characters
        vocabularyTrie = vocabulary
        userDefinedTrie = userDefined
        byteIDs = bytes
        minimumScore = minimum
        maximumScore = maximum
        normalizer = try SentencePieceNormalizer(model: model, userDefined: userDefined, path: path)
        merges = model.algorithm == .bpe ? Self.pairMerges(model.pieces, ids: ids) : BytePairModel(merges: [:])
    }

    /// For BPE: every piece that two other pieces concatenate to, ranked by score (equal scores, equal rank).
    private static func pairMerges(_ pieces: [SentencePieceModel.Piece], ids: [String: Int]) -> BytePairModel {
        let scores = Set(pieces.map(\.score)).sorted(by: >)
        let rankOfScore = Dictionary(uniqueKeysWithValues: scores.enumerated().map { ($1, $0) })
        var table: [UInt64: UInt64] = [:]
        for (id, piece) in pieces.enumerated() where piece.type == .normal || piece.type == .userDefined || piece.type == .unused {
            // Pieces split at Unicode scalars, as the library splits text into UTF-8 characters.
            let scalars = Array(piece.text.unicodeScalars)
            guard scalars.count > 1 else { continue }
            for split in 1..<scalars.count {
                let prefix = String(String.UnicodeScalarView(scalars[..<split]))
                let suffix = String(String.UnicodeScalarView(scalars[split...]))
                guard let left = ids[prefix], let right = ids[suffix] else { continue }
                table[BytePairModel.key(left, right)] = BytePairModel.value(rank: rankOfScore[piece.score]!, merged: id)
            }
        }
        return BytePairModel(merges: table)
    }

    private static func byteValue(_ piece: String) -> UInt8? {
        guard piece.hasPrefix("<0x"), piece.hasSuffix(">"), piece.count == 6 else { return nil }
        return UInt8(piece.dropFirst(3).dropLast(), radix: 16)
    }

    public var vocabularySize: Int { model.pieces.count }

    public func tokenID(_ token: String) -> Int? { pieceIDs[token] }

    public func encode(_ text: String) -> [Int] {
        let normalized = normalizer.normalize(text)
        var ids: [Int] = addsBOS && model.bosID >= 0 ? [model.bosID] : []
        switch model.algorithm {
        case .bpe: encodeBPE(normalized, into: &ids)
        default: encodeUnigram(normalized, into: &ids)
        }
        return ids
    }

    /// Symbols start as characters (user-defined pieces whole); unknown ones carry negative ids into `unknown`.
    private func encodeBPE(_ bytes: [UInt8], into ids: inout [Int]) {
        var symbols: [Int] = []
        var unknown: [ArraySlice<UInt8>] = []
        var index = 0
        while index < bytes.count {
            if let match = userDefinedTrie.longestPrefix(of: bytes, from: index) {
                symbols.append(match.value)
                index += match.length
                continue
            }
            let length = Swift.min(utf8Length(bytes[index]), bytes.count - index)
            let character = bytes[index..<(index + length)]
            if let id = characterIDs[scalarValue(character)] {
                symbols.append(id)
            } else {
                unknown.append(character)
                symbols.append(-unknown.count)
            }
            index += length
        }
        merges.merge(&symbols)
        for symbol in symbols {
            if symbol >= 0 {
                ids.append(symbol)
            } else {
                appendUnknown(unknown[-symbol - 1], to: &ids)
            }
        }
    }

    /// The scalar value of one UTF-8 sequence.
    private func scalarValue(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar.value }
        return UInt32.max
    }

    /// Viterbi over the lattice of vocabulary pieces, scores summed in Float as the library does.
    private func encodeUnigram(_ bytes: [UInt8], into ids: inout [Int]) {
        let size = bytes.count
        guard size > 0 else { return }
        let unknownScore = minimumScore - 10
        var bestScore = [Float](repeating: 0, count: size + 1)
        var bestStart = [Int](repeating: -1, count: size + 1)
        var bestID = [Int](repeating: -1, count: size + 1)
        var start = 0
        while start < size {
            let scoreHere = bestScore[start]
            let characterLength = Swift.min(utf8Length(bytes[start]), size - start)
            var hasSingleCharacter = false
            vocabularyTrie.forEachPrefix(of: bytes, from: start) { length, id in
                let piece = model.pieces[id]
                if piece.type == .unused { return }
                let score = piece.type == .userDefined ? Float(length) * maximumScore - 0.1 : piece.score
                let candidate = score + scoreHere
                let end = start + length
                if bestStart[end] == -1 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    bestStart[end] = start
                    bestID[end] = id
                }
                if length == characterLength { hasSingleCharacter = true }
            }
            if !hasSingleCharacter {
                let end = start + characterLength
                let candidate = unknownScore + scoreHere
                if bestStart[end] == -1 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    bestStart[end] = start
                    bestID[end] = model.unknownID
                }
            }
            start += characterLength
        }
        var path: [(id: Int, range: Range<Int>)] = []
        var end = size
        while end > 0 {
            path.append((bestID[end], bestStart[end]..<end))
            end = bestStart[end]
        }
        for (id, range) in path.reversed() {
            if id == model.unknownID { appendUnknown(bytes[range], to: &ids) } else { ids.append(id) }
        }
    }

    private func appendUnknown(_ bytes: ArraySlice<UInt8>, to ids: inout [Int]) {
        if model.byteFallback {
            for byte in bytes { ids.append(byteIDs[Int(byte)]) }
        } else if ids.last != model.unknownID {
            ids.append(model.unknownID)
        }
    }

    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        var atStart = true
        for id in ids where id >= 0 && id < model.pieces.count {
            let piece = model.pieces[id]
            switch piece.type {
            case .control: continue
            case .unknown: bytes.append(contentsOf: Array(" \u{2047} ".utf8))
            case .byte:
                if let value = Self.byteValue(piece.text) { bytes.append(value) }
            default:
                var text = Array(piece.text.utf8)[...]
                if atStart && normalizer.addDummyPrefix && text.starts(with: SentencePieceNormalizer.spaceSymbol) {
                    text = text.dropFirst(SentencePieceNormalizer.spaceSymbol.count)
                }
                bytes.append(contentsOf: text)
            }
            atStart = false
        }
        // ▁ back to spaces.
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        let symbol = SentencePieceNormalizer.spaceSymbol
        while index < bytes.count {
            if index + 2 < bytes.count, bytes[index] == symbol[0], bytes[index + 1] == symbol[1], bytes[index + 2] == symbol[2] {
                output.append(32)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
