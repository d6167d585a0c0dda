/// One token of an expression inside `{{ … }}` or `{% … %}`.
struct JinjaToken: Equatable {
    enum Kind: Equatable {
        case name(String)
        case string(String)
        case int(Int)
        case double(Double)
        /// An operator or punctuation: `+`, `==`, `(`, `|`, `.`, …
        case symbol(String)
    }

    let kind: Kind
    let line: Int
}

/// A piece of a template after whitespace control: literal text, an output tag or a statement tag.
enum TemplatePiece {
    case text(String)
    case output([JinjaToken], line: Int)
    case statement([JinjaToken], line: Int)
}

/// Splits a template into text and tags as Jinja2's lexer does, applying `-`/`+` whitespace control,
/// `trim_blocks` and `lstrip_blocks`, and dropping comments.
struct JinjaLexer {
    let trimBlocks: Bool
    let lstripBlocks: Bool

    private enum TagKind { case output, statement, comment }

    /// - Returns: the pieces, and the number of the template's last line (where an unclosed block is reported).
    func pieces(of template: String) throws -> (pieces: [TemplatePiece], lastLine: Int) {
        // Jinja2 normalises line endings and drops one trailing newline (keep_trailing_newline=False).
        var source = template.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if source.hasSuffix("\n") { source.removeLast() }
        let chars = Array(source.unicodeScalars)
        var pieces: [TemplatePiece] = []
        var position = 0
        var line = 1
        var lineStarting = true
        var stripNextLeading = false

        while position < chars.count {
            // Find the next tag start.
            var tagStart = position
            var kind: TagKind?
            while tagStart + 1 < chars.count {
                if chars[tagStart] == "{" {
                    switch chars[tagStart + 1] {
                    case "{": kind = .output
                    case "%": kind = .statement
                    case "#": kind = .comment
                    default: break
                    }
                    if kind != nil { break }
                }
                tagStart += 1
            }
            var text = String(String.UnicodeScalarView(chars[position..<(kind == nil ? chars.count : tagStart)]))
            if stripNextLeading { text = String(text.drop(while: \.isWhitespace)) }
            stripNextLeading = false
            guard let kind else {
                if !text.isEmpty { pieces.append(.text(text)) }
                break
            }
            var cursor = tagStart + 2
            let modifier: Unicode.Scalar? = cursor < chars.count && (chars[cursor] == "-" || chars[cursor] == "+") ? chars[cursor] : nil
            if modifier != nil { cursor += 1 }
            if modifier == "-" {
                while let last = text.last, last.isWhitespace { text.removeLast() }
            } else if modifier != "+" && lstripBlocks && kind != .output {
                let lineStart = text.lastIndex(of: "\n").map { text.index(after: $0) }
                if lineStart != nil || lineStarting {
                    let from = lineStart ?? text.startIndex
                    if text[from...].allSatisfy({ $0 == " " || $0 == "\t" }) { text.removeSubrange(from...) }
                }
            }
            let tagLine = line + chars[position..<tagStart].filter { $0 == "\n" }.count
            if !text.isEmpty { pieces.append(.text(text)) }
            line = tagLine

            var end: Int
            var endModifier: Unicode.Scalar?
            switch kind {
            case .comment:
                guard let close = Self.find("#}", in: chars, from: cursor) else {
                    throw JinjaError.syntax(line: line, message: "missing end of comment tag")
                }
                end = close + 2
                if close > cursor, chars[close - 1] == "-" || chars[close - 1] == "+" { endModifier = chars[close - 1] }
                line += chars[tagStart..<end].filter { $0 == "\n" }.count
            case .output, .statement:
                var tokenizer = ExpressionTokenizer(chars: chars, position: cursor, line: line)
                let (tokens, close, closeModifier) = try tokenizer.tokens(until: kind == .output ? "}" : "%")
                end = close
                endModifier = closeModifier
                line = tokenizer.line
                if kind == .statement, tokens.first?.kind == .name("raw") {
                    let (rawText, afterRaw, rawModifier, rawLeft) = try Self.rawBody(chars, from: end, line: line)
                    pieces.append(.text(rawLeft == "-" ? String(rawText.reversed().drop(while: \.isWhitespace).reversed()) : rawText))
                    line += rawText.filter { $0 == "\n" }.count
                    end = afterRaw
                    endModifier = rawModifier
                } else {
                    pieces.append(kind == .output ? .output(tokens, line: line) : .statement(tokens, line: line))
                }
            }
            lineStarting = false
            if endModifier == "-" {
                stripNextLeading = true
            } else if endModifier != "+" && trimBlocks && kind != .output, end < chars.count, chars[end] == "\n" {
                end += 1
                line += 1
                lineStarting = true
            }
            position = end
        }
        return (pieces, 1 + chars.filter { $0 == "\n" }.count)
    }

    private static func find(_ needle: String, in chars: [Unicode.Scalar], from start: Int) -> Int? {
        let n = Array(needle.unicodeScalars)
        var i = start
        while i + n.count <= chars.count {
            if chars[i] == n[0] && chars[i + 1] == n[1] { return i }
            i += 1
        }
        return nil
    }

    /// The text of a `{% raw %}` block up to its `{% endraw %}`, and where the closing tag ends.
    private static func rawBody(
        _ chars: [Unicode.Scalar], from start: Int, line: Int
    ) throws
        -> (String, Int, Unicode.Scalar?, Unicode.Scalar?)
    {
        var i = start
        while let open = find("{%", in: chars, from: i) {
            var j = open + 2
            let left: Unicode.Scalar? = j < chars.count && (chars[j] == "-" || chars[j] == "+") ? chars[j] : nil
            if left != nil { j += 1 }
            while j < chars.count, chars[j] == " " || chars[j] == "\t" || chars[j] == "\n" { j += 1 }
            let word = Array("endraw".unicodeScalars)
            if j + word.count <= chars.count, Array(chars[j..<j + word.count]) == word, let close = find("%}", in: chars, from: j) {
                let modifier: Unicode.Scalar? = chars[close - 1] == "-" || chars[close - 1] == "+" ? chars[close - 1] : nil
                return (String(String.UnicodeScalarView(chars[start..<open])), close + 2, modifier, left)
            }
            i = open + 2
        }
        throw JinjaError.syntax(line: line, message: "missing end of raw directive")
    }
}

/// Tokenizes the inside of a tag up to its closing `}}` or `%}` (outside brackets), as Jinja2 does.
struct ExpressionTokenizer {
    let chars: [Unicode.Scalar]
    var position: Int
    var line: Int

    private static let symbols = [
        "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]",
        "{", "}", ",", ".", ":", "|",
    ]

    /// - Returns: the tokens, the position after the closing delimiter, and its `-`/`+` modifier.
    mutating func tokens(until closer: Unicode.Scalar) throws -> ([JinjaToken], Int, Unicode.Scalar?) {
        var tokens: [JinjaToken] = []
        var depth = 0
        while true {
            while position < chars.count, chars[position] == " " || chars[position] == "\t" || chars[position] == "\n" {
                if chars[position] == "\n" { line += 1 }
                position += 1
            }
            guard position < chars.count else {
                throw JinjaError.syntax(
                    line: line,
                    message: closer == "}" ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'")
            }
            if depth == 0 {
                for modifier in ["-", "+", ""] as [String] {
                    let pattern = Array((modifier + String(closer) + "}").unicodeScalars)
                    if position + pattern.count <= chars.count, Array(chars[position..<position + pattern.count]) == pattern,
                        !(modifier == "+" && closer == "}")
                    {
                        return (tokens, position + pattern.count, modifier.isEmpty ? nil : modifier.unicodeScalars.first)
                    }
                }
            }
            let c = chars[position]
            if c == "'" || c == "\"" {
                tokens.append(JinjaToken(kind: .string(try stringLiteral(quote: c)), line: line))
            } else if c.properties.isAlphabetic || c == "_" {
                let start = position
                while position < chars.count,
                    chars[position].properties.isAlphabetic || chars[position] == "_"
                        || ("0"..."9").contains(chars[position])
                { position += 1 }
                tokens.append(JinjaToken(kind: .name(String(String.UnicodeScalarView(chars[start..<position]))), line: line))
            } else if ("0"..."9").contains(c) {
                tokens.append(JinjaToken(kind: number(), line: line))
            } else if let symbol = Self.symbols.first(where: { s in
                let p = Array(s.unicodeScalars)
                return position + p.count <= chars.count && Array(chars[position..<position + p.count]) == p
            }) {
                if symbol == "(" || symbol == "[" || symbol == "{" { depth += 1 }
                if symbol == ")" || symbol == "]" || symbol == "}" {
                    guard depth > 0 else { throw JinjaError.syntax(line: line, message: "unexpected '\(symbol)'") }
                    depth -= 1
                }
                position += symbol.unicodeScalars.count
                tokens.append(JinjaToken(kind: .symbol(symbol), line: line))
            } else {
                throw JinjaError.syntax(line: line, message: "unexpected character '\(Character(c))'")
            }
        }
    }

    private mutating func number() -> JinjaToken.Kind {
        let start = position
        var isFloat = false
        while position < chars.count {
            let c = chars[position]
            if ("0"..."9").contains(c) || c == "_" {
                position += 1
            } else if c == ".", !isFloat, position + 1 < chars.count, ("0"..."9").contains(chars[position + 1]) {
                isFloat = true
                position += 1
            } else if (c == "e" || c == "E"), position + 1 < chars.count,
                ("0"..."9").contains(chars[position + 1])
                    || ((chars[position + 1] == "-" || chars[position + 1] == "+") && position + 2 < chars.count
                        && ("0"..."9").contains(chars[position + 2]))
            {
                isFloat = true
                position += 2
            } else {
                break
            }
        }
        let text = String(String.UnicodeScalarView(chars[start..<position])).replacingOccurrences(of: "_", with: "")
        if !isFloat, let i = Int(text) { return .int(i) }
        return .double(Double(text) ?? 0)
    }

    private mutating func stringLiteral(quote: Unicode.Scalar) throws -> String {
        let startLine = line
        position += 1
        var out = String.UnicodeScalarView()
        while position < chars.count {
            let c = chars[position]
            position += 1
            if c == quote { return String(out) }
            if c == "\n" { line += 1 }
            if c == "\\", position < chars.count {
                let e = chars[position]
                position += 1
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "0": out.append("\0")
                case "u", "x":
                    let width = e == "u" ? 4 : 2
                    if position + width <= chars.count,
                        let v = UInt32(String(String.UnicodeScalarView(chars[position..<position + width])), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    {
                        out.append(scalar)
                        position += width
                    } else {
                        out.append("\\"); out.append(e)
                    }
                case "\n":
                    line += 1
                default:
                    // Python keeps an unknown escape as written.
                    out.append("\\"); out.append(e)
                }
            } else {
                out.append(c)
            }
        }
        throw JinjaError.syntax(line: startLine, message: "unterminated string")
    }
}
