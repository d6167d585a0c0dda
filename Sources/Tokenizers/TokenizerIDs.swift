/// The bounds token ids from a file must keep before anything is sized by them: tokenizers index arrays by id,
/// so an id of 10⁹ in a hand-edited `tokenizer.json` would allocate gigabytes, and a negative one would trap.
enum TokenizerIDs {
    /// How far beyond the number of tokens an id may lie (real files leave no gap of even a thousand).
    static let maximumGap = 1_000_000

    /// Throws naming the first token whose id is negative or more than ``maximumGap`` past the token count.
    static func check(vocab: [String: Int], added: [SpecialTokens.Token], path: String) throws {
        let limit = vocab.count + added.count + maximumGap
        for (token, id) in vocab where id < 0 || id >= limit {
            throw TokenizerError.malformed(
                path: path, reason: "token \(token.debugDescription) has id \(id), outside 0..<\(limit) (\(vocab.count) tokens)")
        }
        for token in added where token.id < 0 || token.id >= limit {
            throw TokenizerError.malformed(
                path: path,
                reason:
                    "added token \(String(decoding: token.content, as: UTF8.self).debugDescription) has id \(token.id), outside 0..<\(limit)"
            )
        }
    }
}
