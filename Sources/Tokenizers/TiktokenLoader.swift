import Foundation

/// Reads tiktoken rank files (`base64-token rank` per line), which carry neither the split pattern nor the
/// special tokens: those come from the caller (``SplitPattern`` presets).
public enum TiktokenLoader {
    /// Loads the ranks at `path`.
    ///
    /// - Parameters:
    ///   - pattern: how text is split before merging (GPT-2's or Llama 3's).
    ///   - specialTokens: special tokens with their ids, matched in text before splitting.
    public static func load(path: String, pattern: SplitPattern, specialTokens: [String: Int] = [:]) throws -> ByteLevelBPETokenizer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadable(path: path, reason: "no such file or not readable")
        }
        var ranks: [[UInt8]: Int] = [:]
        var tokens: [[UInt8]] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 2, let bytes = Data(base64Encoded: Data(fields[0])),
                let rank = Int(String(decoding: fields[1], as: UTF8.self)), rank >= 0
            else {
                throw TokenizerError.malformed(path: path, reason: "line \(lineNumber) is not 'base64-token rank'")
            }
            // Ranks index an array: one far beyond the file's lines would allocate gigabytes for nothing.
            guard rank < lineNumber + TokenizerIDs.maximumGap else {
                throw TokenizerError.malformed(
                    path: path, reason: "line \(lineNumber): rank \(rank) is far beyond the file's \(lineNumber) tokens so far")
            }
            let token = [UInt8](bytes)
            ranks[token] = rank
            if rank >= tokens.count { tokens.append(contentsOf: repeatElement([], count: rank - tokens.count + 1)) }
            tokens[rank] = token
        }
        var byteIDs = [Int](repeating: -1, count: 256)
        for byte in 0..<256 {
            guard let id = ranks[[UInt8(byte)]] else {
                throw TokenizerError.malformed(path: path, reason: "byte \(byte) has no token")
            }
            byteIDs[byte] = id
        }
        // A pair of tokens merges into their concatenation when that is a token; its rank orders the merges.
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(tokens.count * 4)
        for (rank, token) in tokens.enumerated() where token.count > 1 {
            for split in 1..<token.count {
                guard let left = ranks[Array(token[..<split])], let right = ranks[Array(token[split...])] else { continue }
                merges[BytePairModel.key(left, right)] = BytePairModel.value(rank: rank, merged: rank)
            }
        }
        let specials = SpecialTokens(specialTokens.map { SpecialTokens.Token(content: Array($0.key.utf8), id: $0.value) })
        var vocabulary: [String: Int] = [:]
        for (rank, token) in tokens.enumerated() { vocabulary[ByteLevelAlphabet.encode(token)] = rank }
        return ByteLevelBPETokenizer(
            model: BytePairModel(merges: merges), byteIDs: byteIDs, tokenBytes: tokens,
            pattern: pattern, addPrefixSpace: false, specials: specials, prefixIDs: [],
            suffixIDs: [], vocabulary: vocabulary)
    }
}
