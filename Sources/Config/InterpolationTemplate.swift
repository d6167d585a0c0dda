/// The parsed form of a string that may hold `${...}` interpolations (OmegaConf's grammar).
///
/// `${a.b[0]}` is a node path; `${name:arg1,arg2}` calls a resolver whose name may contain dots
/// (`oc.env`); arguments may themselves hold interpolations; `\${` is a literal `${`.
struct InterpolationTemplate: Equatable {
    indirect enum Piece: Equatable {
        case literal(String)
        case nodePath(String)
        case resolver(name: String, arguments: [InterpolationTemplate])
    }

    var pieces: [Piece]

    /// Whether the text contains an interpolation at all (a cheap check before parsing).
    static func mayContainInterpolation(_ text: String) -> Bool { text.contains("${") }

    /// The single interpolation when the whole string is one, so its value keeps its type (a mapping, an int).
    var soleInterpolation: Piece? {
        guard pieces.count == 1, let piece = pieces.first else { return nil }
        if case .literal = piece { return nil }
        return piece
    }

    var isLiteral: Bool { pieces.allSatisfy { if case .literal = $0 { return true } else { return false } } }

    /// Parses `text`; throws a message describing the first syntax problem.
    static func parse(_ text: String) throws -> InterpolationTemplate {
        var parser = Parser(characters: Array(text))
        let template = try parser.parseTemplate(insideArgument: false)
        guard parser.atEnd else { throw InterpolationSyntaxError(message: "unexpected '\(parser.characters[parser.index])'") }
        return template
    }

    private struct Parser {
        let characters: [Character]
        var index = 0

        var atEnd: Bool { index >= characters.count }

        func peek(_ offset: Int = 0) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }

        /// Reads literal text and interpolations up to the end, or (inside a resolver argument) up to `,` or `}`.
        mutating func parseTemplate(insideArgument: Bool) throws -> InterpolationTemplate {
            var pieces: [Piece] = []
            var literal = ""
            var quote: Character?
            func flush() {
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
            }
            while let character = peek() {
                if character == "\\", peek(1) == "$", peek(2) == "{" {
                    literal += "${"
                    index += 3
                } else if character == "\\", insideArgument, let next = peek(1), [",", "}", "\\", "'", "\""].contains(next) {
                    literal.append(next)
                    index += 2
                } else if character == "$", peek(1) == "{" {
                    flush()
                    pieces.append(try parseInterpolation())
                } else if insideArgument, let open = quote {
                    if character == open { quote = nil } else { literal.append(character) }
                    index += 1
                } else if insideArgument, character == "'" || character == "\"", literal.allSatisfy(\.isWhitespace) {
                    literal = ""
                    quote = character
                    index += 1
                } else if insideArgument, character == "," || character == "}" {
                    break
                } else {
                    literal.append(character)
                    index += 1
                }
            }
            if quote != nil { throw InterpolationSyntaxError(message: "unterminated quoted argument") }
            flush()
            if insideArgument { pieces = trimmed(pieces) }
            return InterpolationTemplate(pieces: pieces)
        }

        private func trimmed(_ pieces: [Piece]) -> [Piece] {
            var pieces = pieces
            if case .literal(let text)? = pieces.first {
                let stripped = String(text.drop { $0.isWhitespace })
                if stripped.isEmpty { pieces.removeFirst() } else { pieces[0] = .literal(stripped) }
            }
            if case .literal(let text)? = pieces.last {
                let stripped = String(text.reversed().drop { $0.isWhitespace }.reversed())
                if stripped.isEmpty { pieces.removeLast() } else { pieces[pieces.count - 1] = .literal(stripped) }
            }
            return pieces
        }

        mutating func parseInterpolation() throws -> Piece {
            index += 2  // "${"
            var name = ""
            while let character = peek(), character != ":" && character != "}" {
                guard character.isLetter || character.isNumber || "_.-[]".contains(character) else {
                    throw InterpolationSyntaxError(message: "unexpected '\(character)' in '${\(name)'")
                }
                name.append(character)
                index += 1
            }
            guard let terminator = peek() else {
                throw InterpolationSyntaxError(message: "'${\(name)' is missing its closing '}'")
            }
            index += 1
            if terminator == "}" {
                guard !name.isEmpty else { throw InterpolationSyntaxError(message: "empty interpolation '${}'") }
                return .nodePath(name)
            }
            guard !name.isEmpty, !name.contains("[") else {
                throw InterpolationSyntaxError(message: "a resolver needs a name before ':'")
            }
            var arguments: [InterpolationTemplate] = []
            if peek() == "}" {
                index += 1
                return .resolver(name: name, arguments: arguments)
            }
            while true {
                arguments.append(try parseTemplate(insideArgument: true))
                guard let separator = peek() else {
                    throw InterpolationSyntaxError(message: "'${\(name):' is missing its closing '}'")
                }
                index += 1
                if separator == "}" { break }
            }
            return .resolver(name: name, arguments: arguments)
        }
    }
}

struct InterpolationSyntaxError: Error {
    var message: String
}
