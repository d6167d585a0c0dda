/// The regular expressions that byte-level tokenizers split text with, implemented by hand over Unicode
/// properties (`\p{L}` letters, `\p{N}` numbers, `\s` White_Space) so no regex engine runs in the hot loop.
public enum SplitPattern: String, Sendable, CaseIterable {
    /// GPT-2's pattern (also r50k/p50k): `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3's pattern (cl100k-like, digits in groups of up to three).
    case llama3

    /// The pattern text as tokenizer files write it, to recognise it in a `tokenizer.json`.
    public var regex: String {
        switch self {
        case .gpt2:
            return #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .llama3:
            return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    /// Recognises a pattern by its text (the forms real tokenizer files use).
    public init?(regex: String) {
        let known: [String: SplitPattern] = [
            SplitPattern.gpt2.regex: .gpt2,
            SplitPattern.llama3.regex: .llama3,
            // Llama 3's tokenizer.json spells the same pattern with a leading group variant.
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
                .llama3,
        ]
        guard let pattern = known[regex] else { return nil }
        self = pattern
    }

    /// The pieces of `scalars` as half-open index ranges, in order, covering all of it.
    func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let classes = scalars.map(CharacterClass.init)
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(scalars.count / 4 + 1)
        var index = 0
        while index < scalars.count {
            let end: Int
            switch self {
            case .gpt2: end = SplitPattern.gpt2Match(scalars, classes, at: index)
            case .llama3: end = SplitPattern.llama3Match(scalars, classes, at: index)
            }
            pieces.append(index..<end)
            index = end
        }
        return pieces
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d`; returns the end of the match or nil.
    private static func contraction(_ scalars: [Unicode.Scalar], at index: Int, ignoringCase: Bool) -> Int? {
        guard scalars[index] == "'", index + 1 < scalars.count else { return nil }
        func letter(_ offset: Int) -> Character? {
            guard index + offset < scalars.count else { return nil }
            let character = Character(scalars[index + offset])
            return ignoringCase ? Character(character.lowercased()) : character
        }
        switch letter(1) {
        case "s", "t", "m", "d": return index + 2
        case "r" where letter(2) == "e", "v" where letter(2) == "e": return index + 3
        case "l" where letter(2) == "l": return index + 3
        default: return nil
        }
    }

    private static func run(_ classes: [CharacterClass], from start: Int, while predicate: (CharacterClass) -> Bool) -> Int {
        var end = start
        while end < classes.count && predicate(classes[end]) { end += 1 }
        return end
    }

    /// `\s+(?!\S)|\s+` at a whitespace character.
    private static func whitespace(_ classes: [CharacterClass], at index: Int) -> Int {
        let end = run(classes, from: index) { $0 == .whitespace || $0 == .newline }
        if end < classes.count && end - index > 1 { return end - 1 }
        return end
    }

    private static func gpt2Match(_ scalars: [Unicode.Scalar], _ classes: [CharacterClass], at index: Int) -> Int {
        if let end = contraction(scalars, at: index, ignoringCase: false) { return end }
        var start = index
        if scalars[index] == " ", index + 1 < scalars.count, !classes[index + 1].isSpace { start = index + 1 }
        switch classes[start] {
        case .letter: return run(classes, from: start) { $0 == .letter }
        case .number: return run(classes, from: start) { $0 == .number }
        case .other: return run(classes, from: start) { $0 == .other }
        case .whitespace, .newline: return whitespace(classes, at: index)
        }
    }

    private static func llama3Match(_ scalars: [Unicode.Scalar], _ classes: [CharacterClass], at index: Int) -> Int {
        if let end = contraction(scalars, at: index, ignoringCase: true) { return end }
        let current = classes[index]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if current == .letter { return run(classes, from: index) { $0 == .letter } }
        if current != .newline && current != .number, index + 1 < classes.count, classes[index + 1] == .letter {
            return run(classes, from: index + 1) { $0 == .letter }
        }
        // \p{N}{1,3}
        if current == .number {
            var end = index
            while end < classes.count && end - index < 3 && classes[end] == .number { end += 1 }
            return end
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var start = index
        if scalars[index] == " ", index + 1 < classes.count, classes[index + 1] == .other { start = index + 1 }
        if classes[start] == .other {
            let end = run(classes, from: start) { $0 == .other }
            return run(classes, from: end) { $0 == .newline }
        }
        // `\s*[\r\n]+`: through the last newline of the whitespace run.
        let spaceEnd = run(classes, from: index) { $0.isSpace }
        if let lastNewline = (index..<spaceEnd).last(where: { classes[$0] == .newline }) { return lastNewline + 1 }
        // `\s+(?!\S)|\s+`
        return whitespace(classes, at: index)
    }
}

/// The classes the split patterns distinguish.
enum CharacterClass: UInt8 {
    case letter, number, whitespace, newline, other

    var isSpace: Bool { self == .whitespace || self == .newline }

    init(_ scalar: Unicode.Scalar) {
        let value = scalar.value
        if value < 128 {
            self = CharacterClass.ascii[Int(value)]
            return
        }
        let properties = scalar.properties
        if properties.isWhitespace {
            self = .whitespace
            return
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: self = .letter
        case .decimalNumber, .letterNumber, .otherNumber: self = .number
        default: self = .other
        }
    }

    private static let ascii: [CharacterClass] = (0..<128).map { value in
        switch UInt8(value) {
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"): return .newline
        case 9...13, 32: return .whitespace
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: return .other
        }
    }
}
