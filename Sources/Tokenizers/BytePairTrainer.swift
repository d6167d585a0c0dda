import Foundation

/// Trains a byte-level BPE (GPT-2 style) and writes a `tokenizer.json` that Hugging Face `tokenizers` loads.
///
/// Words come from GPT-2's split pattern; merges are chosen by pair frequency (ties: the smaller id pair), with
/// counts updated incrementally and a lazily invalidated heap, so training scales with the changed words only.
public struct BytePairTrainer {
    public var vocabularySize: Int
    public var minimumFrequency: Int
    public var specialTokens: [String]
    public var pattern: SplitPattern

    public init(
        vocabularySize: Int, minimumFrequency: Int = 2, specialTokens: [String] = ["<|endoftext|>"],
        pattern: SplitPattern = .gpt2
    ) {
        self.vocabularySize = vocabularySize
        self.minimumFrequency = minimumFrequency
        self.specialTokens = specialTokens
        self.pattern = pattern
    }

    /// The learned vocabulary: special tokens first, then the 256 bytes, then one token per merge.
    public struct Model {
        public var specialTokens: [String]
        /// The bytes of every non-special token, by id minus the special-token count.
        public var tokens: [[UInt8]]
        /// Merges in the order learned, as pairs of token indices into `tokens`.
        public var merges: [(Int, Int)]
    }

    /// Counts words in `texts` and learns merges until the vocabulary is full or no pair is frequent enough.
    public func train(_ texts: some Sequence<String>) -> Model {
        var wordCounts: [[UInt8]: Int] = [:]
        for text in texts {
            let scalars = Array(text.unicodeScalars)
            for range in pattern.split(scalars) {
                var bytes: [UInt8] = []
                for scalar in scalars[range] { appendUTF8(scalar, to: &bytes) }
                wordCounts[bytes, default: 0] += 1
            }
        }
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var tokenIndex = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        var words = wordCounts.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { $0.map(Int.init) }
        let counts = words.map { wordCounts[$0.map(UInt8.init)]! }
        var pairCounts: [UInt64: Int] = [:]
        var locations: [UInt64: Set<Int>] = [:]
        func pairs(of word: [Int]) -> [UInt64] {
            word.count < 2 ? [] : (0..<(word.count - 1)).map { BytePairModel.key(word[$0], word[$0 + 1]) }
        }
        for (index, word) in words.enumerated() {
            for pair in pairs(of: word) {
                pairCounts[pair, default: 0] += counts[index]
                locations[pair, default: []].insert(index)
            }
        }
        var heap = BinaryHeap<PairCount>()
        for (pair, count) in pairCounts { heap.push(PairCount(pair: pair, count: count)) }
        var merges: [(Int, Int)] = []
        let target = vocabularySize - specialTokens.count
        while tokens.count < target, let (pair, count) = heap.pop().map({ ($0.pair, $0.count) }) {
            let current = pairCounts[pair] ?? 0
            if current != count {
                if current > 0 { heap.push(PairCount(pair: pair, count: current)) }
                continue
            }
            guard count >= minimumFrequency else { break }
            let left = Int(pair >> 32)
            let right = Int(pair & 0xFFFF_FFFF)
            // Two pairs may spell the same bytes ("ab"+"c", "a"+"bc"): the second merge reuses the token.
            let bytes = tokens[left] + tokens[right]
            let merged = tokenIndex[bytes] ?? tokens.count
            if merged == tokens.count {
                tokens.append(bytes)
                tokenIndex[bytes] = merged
            }
            merges.append((left, right))
            var touched: [UInt64: Int] = [:]
            for index in locations[pair] ?? [] {
                let old = words[index]
                var new: [Int] = []
                new.reserveCapacity(old.count)
                var position = 0
                while position < old.count {
                    if position + 1 < old.count && old[position] == left && old[position + 1] == right {
                        new.append(merged)
                        position += 2
                    } else {
                        new.append(old[position])
                        position += 1
                    }
                }
                for oldPair in pairs(of: old) {
                    pairCounts[oldPair, default: 0] -= counts[index]
                    touched[oldPair] = pairCounts[oldPair]
                }
                for newPair in pairs(of: new) {
                    pairCounts[newPair, default: 0] += counts[index]
                    locations[newPair, default: []].insert(index)
                    touched[newPair] = pairCounts[newPair]
                }
                words[index] = new
            }
            pairCounts[pair] = nil
            locations[pair] = nil
            for (changed, count) in touched where changed != pair && count > 0 { heap.push(PairCount(pair: changed, count: count)) }
        }
        return Model(specialTokens: specialTokens, tokens: tokens, merges: merges)
    }

    /// Writes `model` as a Hugging Face `tokenizer.json` (byte-level BPE, GPT-2 conventions).
    public static func tokenizerJSON(_ model: Model) throws -> Data {
        let specials = model.specialTokens.count
        var vocab: [String: Int] = [:]
        for (index, token) in model.specialTokens.enumerated() { vocab[token] = index }
        for (index, bytes) in model.tokens.enumerated() { vocab[ByteLevelAlphabet.encode(bytes)] = specials + index }
        let merges = model.merges.map { "\(ByteLevelAlphabet.encode(model.tokens[$0.0])) \(ByteLevelAlphabet.encode(model.tokens[$0.1]))" }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let root: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": model.specialTokens.enumerated().map { index, content in
                [
                    "id": index, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true,
                ] as [String: Any]
            },
            "normalizer": NSNull(),
            "pre_tokenizer": byteLevel,
            "post_processor": byteLevel,
            "decoder": byteLevel,
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges,
            ] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
    }
}

/// A pair with its count, ordered most frequent first and the smaller pair key among equals.
private struct PairCount: Comparable {
    var pair: UInt64
    var count: Int

    static func < (a: PairCount, b: PairCount) -> Bool {
        a.count != b.count ? a.count > b.count : a.pair < b.pair
    }
}
