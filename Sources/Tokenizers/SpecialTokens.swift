/// Added tokens matched in raw text before any splitting, longest first (Hugging Face's added tokens,
/// tiktoken's special tokens).
struct SpecialTokens: Sendable {
    struct Token: Sendable {
        var content: [UInt8]
        var id: Int
        /// Whitespace on the left (right) of the token is absorbed into it (Hugging Face's lstrip/rstrip).
        var absorbsLeftSpace = false
        var absorbsRightSpace = false
    }

    /// Every token, as given.
    let tokens: [Token]
    /// Tokens by their first byte, longest first.
    private let byFirstByte: [UInt8: [Token]]
    let ids: [String: Int]
    let contents: [Int: [UInt8]]

    init(_ tokens: [Token]) {
        self.tokens = tokens
        var table: [UInt8: [Token]] = [:]
        for token in tokens where !token.content.isEmpty { table[token.content[0], default: []].append(token) }
        byFirstByte = table.mapValues { $0.sorted { $0.content.count > $1.content.count } }
        ids = Dictionary(tokens.map { (String(decoding: $0.content, as: UTF8.self), $0.id) }, uniquingKeysWith: { first, _ in first })
        contents = Dictionary(tokens.map { ($0.id, $0.content) }, uniquingKeysWith: { first, _ in first })
    }

    var isEmpty: Bool { byFirstByte.isEmpty }

    /// These tokens plus `more` (those already present are kept once).
    func adding(_ more: [Token]) -> SpecialTokens {
        SpecialTokens(tokens + more.filter { token in !tokens.contains { $0.content == token.content } })
    }

    /// A piece of input: plain text to tokenize, or a special token's id.
    enum Segment {
        case text(ArraySlice<UInt8>)
        case special(Int)
    }

    /// Splits UTF-8 `bytes` around special tokens.
    func segments(_ bytes: [UInt8]) -> [Segment] {
        guard !isEmpty else { return [.text(bytes[...])] }
        var segments: [Segment] = []
        var textStart = 0
        var index = 0
        while index < bytes.count {
            guard let candidates = byFirstByte[bytes[index]],
                let token = candidates.first(where: { matches($0.content, in: bytes, at: index) })
            else {
                index += 1
                continue
            }
            var textEnd = index
            if token.absorbsLeftSpace {
                while textEnd > textStart && isSpace(bytes[textEnd - 1]) { textEnd -= 1 }
            }
            if textEnd > textStart { segments.append(.text(bytes[textStart..<textEnd])) }
            segments.append(.special(token.id))
            index += token.content.count
            if token.absorbsRightSpace {
                while index < bytes.count && isSpace(bytes[index]) { index += 1 }
            }
            textStart = index
        }
        if textStart < bytes.count { segments.append(.text(bytes[textStart...])) }
        return segments
    }

    private func matches(_ content: [UInt8], in bytes: [UInt8], at index: Int) -> Bool {
        guard index + content.count <= bytes.count else { return false }
        for offset in 0..<content.count where bytes[index + offset] != content[offset] { return false }
        return true
    }

    private func isSpace(_ byte: UInt8) -> Bool { byte == 32 || (9...13).contains(byte) }
}
