/// Parses the lexer's pieces into statements, with Jinja2's operator precedence.
struct JinjaParser {
    private var pieces: [TemplatePiece]
    private var index = 0
    private let lastLine: Int

    init(pieces: [TemplatePiece], lastLine: Int) {
        self.pieces = pieces
        self.lastLine = lastLine
    }

    mutating func parseTemplate() throws -> [JinjaNode] {
        let (body, end) = try parseBody(until: [])
        if let end { throw JinjaError.syntax(line: end.line, message: "unexpected '\(end.keyword)'") }
        return body
    }

    /// A tag that ended a body: its keyword and the rest of its tokens.
    private struct EndTag {
        let keyword: String
        var tokens: TokenStream
        var line: Int { tokens.line }
    }

    private mutating func parseBody(until ends: Set<String>) throws -> ([JinjaNode], EndTag?) {
        var nodes: [JinjaNode] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case .text(let text): nodes.append(.text(text))
            case .output(let tokens, let line):
                var stream = TokenStream(tokens: tokens, line: line)
                let expression = try stream.parseExpression()
                try stream.expectEnd()
                nodes.append(.output(expression, line: line))
            case .statement(let tokens, let line):
                var stream = TokenStream(tokens: tokens, line: line)
                guard case .name(let keyword) = stream.next()?.kind else {
                    throw JinjaError.syntax(line: line, message: "expected a statement name")
                }
                if ends.contains(keyword) { return (nodes, EndTag(keyword: keyword, tokens: stream)) }
                nodes.append(try parseStatement(keyword, &stream, ends: ends))
            }
        }
        if let first = ends.first(where: { $0.hasPrefix("end") }) ?? ends.first {
            throw JinjaError.syntax(line: lastLine, message: "unexpected end of template, expected '\(first)'")
        }
        return (nodes, nil)
    }

    private mutating func parseStatement(_ keyword: String, _ stream: inout TokenStream, ends: Set<String>) throws -> JinjaNode {
        let line = stream.line
        switch keyword {
        case "if":
            var branches: [(JinjaExpression, [JinjaNode])] = []
            var condition = try stream.parseExpression()
            try stream.expectEnd()
            while true {
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard var end else { break }
                switch end.keyword {
                case "elif":
                    condition = try end.tokens.parseExpression()
                    try end.tokens.expectEnd()
                case "else":
                    try end.tokens.expectEnd()
                    let (otherwise, _) = try parseBody(until: ["endif"])
                    return .conditional(branches: branches, otherwise: otherwise)
                default:
                    try end.tokens.expectEnd()
                    return .conditional(branches: branches, otherwise: [])
                }
            }
            return .conditional(branches: branches, otherwise: [])
        case "for":
            var targets = [try stream.expectName()]
            while stream.accept(",") { targets.append(try stream.expectName()) }
            try stream.expectKeyword("in")
            let iterable = try stream.parseExpression(allowConditional: false)
            var condition: JinjaExpression?
            if stream.acceptKeyword("if") { condition = try stream.parseExpression() }
            _ = stream.acceptKeyword("recursive")
            try stream.expectEnd()
            let (body, end) = try parseBody(until: ["else", "endfor"])
            var otherwise: [JinjaNode] = []
            if let end, end.keyword == "else" {
                try end.tokens.expectEnd()
                otherwise = try parseBody(until: ["endfor"]).0
            }
            return .loop(.init(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise, line: line))
        case "set":
            let first = try stream.expectName()
            if stream.accept(".") {
                let attribute = try stream.expectName()
                try stream.expect("=")
                let value = try stream.parseExpression()
                try stream.expectEnd()
                return .assignment(.attribute(namespace: first, attribute: attribute), value, line: line)
            }
            var names = [first]
            while stream.accept(",") { names.append(try stream.expectName()) }
            if stream.atEnd {
                guard names.count == 1 else { throw JinjaError.syntax(line: line, message: "a block assignment takes one name") }
                let (body, _) = try parseBody(until: ["endset"])
                return .blockAssignment(first, body: body)
            }
            try stream.expect("=")
            var value = try stream.parseExpression()
            if stream.accept(",") {
                var items = [value]
                repeat { items.append(try stream.parseExpression()) } while stream.accept(",")
                value = .tuple(items)
            }
            try stream.expectEnd()
            return .assignment(.names(names), value, line: line)
        case "macro":
            let name = try stream.expectName()
            try stream.expect("(")
            var parameters: [(String, JinjaExpression?)] = []
            while !stream.accept(")") {
                let parameter = try stream.expectName()
                parameters.append((parameter, stream.accept("=") ? try stream.parseExpression() : nil))
                if !stream.accept(",") { try stream.expect(")"); break }
            }
            try stream.expectEnd()
            let (body, _) = try parseBody(until: ["endmacro"])
            return .macro(name: name, parameters: parameters, body: body)
        case "filter":
            let name = try stream.expectName()
            let arguments = stream.peekSymbol("(") ? try stream.parseCallArguments() : JinjaExpression.Arguments()
            try stream.expectEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            return .filterBlock(name, arguments, body: body, line: line)
        case "generation":
            // transformers' marker for assistant tokens: renders its body unchanged.
            try stream.expectEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            return .conditional(branches: [(.literal(.bool(true)), body)], otherwise: [])
        case "break":
            try stream.expectEnd()
            return .breakLoop(line: line)
        case "continue":
            try stream.expectEnd()
            return .continueLoop(line: line)
        default:
            if ends.isEmpty || !ends.contains(keyword) {
                throw JinjaError.syntax(line: line, message: "unknown statement '\(keyword)'")
            }
            throw JinjaError.syntax(line: line, message: "unexpected '\(keyword)'")
        }
    }
}

/// A cursor over one tag's tokens, with the expression grammar.
struct TokenStream {
    let tokens: [JinjaToken]
    var position = 0
    let line: Int

    init(tokens: [JinjaToken], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    var atEnd: Bool { position >= tokens.count }
    private var currentLine: Int { position < tokens.count ? tokens[position].line : (tokens.last?.line ?? line) }

    mutating func next() -> JinjaToken? {
        guard position < tokens.count else { return nil }
        defer { position += 1 }
        return tokens[position]
    }

    func peekSymbol(_ symbol: String) -> Bool { position < tokens.count && tokens[position].kind == .symbol(symbol) }
    func peekName(_ name: String) -> Bool { position < tokens.count && tokens[position].kind == .name(name) }

    mutating func accept(_ symbol: String) -> Bool {
        guard peekSymbol(symbol) else { return false }
        position += 1
        return true
    }

    mutating func acceptKeyword(_ name: String) -> Bool {
        guard peekName(name) else { return false }
        position += 1
        return true
    }

    func error(_ message: String) -> JinjaError { .syntax(line: currentLine, message: message) }

    private var describeCurrent: String {
        guard position < tokens.count else { return "end of statement" }
        switch tokens[position].kind {
        case .name(let n): return "'\(n)'"
        case .symbol(let s): return "'\(s)'"
        case .string(let s): return "string '\(s)'"
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        }
    }

    mutating func expect(_ symbol: String) throws {
        guard accept(symbol) else { throw error("expected '\(symbol)', found \(describeCurrent)") }
    }

    mutating func expectKeyword(_ name: String) throws {
        guard acceptKeyword(name) else { throw error("expected '\(name)', found \(describeCurrent)") }
    }

    mutating func expectName() throws -> String {
        guard position < tokens.count, case .name(let name) = tokens[position].kind else {
            throw error("expected a name, found \(describeCurrent)")
        }
        position += 1
        return name
    }

    func expectEnd() throws {
        guard atEnd else { throw error("expected the end of the statement, found \(describeCurrent)") }
    }

    // MARK: Expressions, loosest binding first (Jinja2's parser.py order)

    mutating func parseExpression(allowConditional: Bool = true) throws -> JinjaExpression {
        var expression = try parseOr()
        guard allowConditional else { return expression }
        while acceptKeyword("if") {
            let condition = try parseOr()
            let otherwise = acceptKeyword("else") ? try parseExpression() : nil
            expression = .conditional(condition: condition, then: expression, otherwise: otherwise)
        }
        return expression
    }

    private mutating func parseOr() throws -> JinjaExpression {
        var left = try parseAnd()
        while peekName("or") {
            let line = currentLine
            position += 1
            left = .binary("or", left, try parseAnd(), line: line)
        }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpression {
        var left = try parseNot()
        while peekName("and") {
            let line = currentLine
            position += 1
            left = .binary("and", left, try parseNot(), line: line)
        }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpression {
        if peekName("not") {
            let line = currentLine
            position += 1
            return .unary("not", try parseNot(), line: line)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpression {
        var left = try parseMath1()
        while true {
            let line = currentLine
            if let op = ["==", "!=", "<", "<=", ">", ">="].first(where: { peekSymbol($0) }) {
                position += 1
                left = .binary(op, left, try parseMath1(), line: line)
            } else if acceptKeyword("in") {
                left = .binary("in", left, try parseMath1(), line: line)
            } else if peekName("not"), position + 1 < tokens.count, tokens[position + 1].kind == .name("in") {
                position += 2
                left = .binary("not in", left, try parseMath1(), line: line)
            } else {
                return left
            }
        }
    }

    private mutating func parseMath1() throws -> JinjaExpression {
        var left = try parseConcat()
        while let op = ["+", "-"].first(where: { peekSymbol($0) }) {
            let line = currentLine
            position += 1
            left = .binary(op, left, try parseConcat(), line: line)
        }
        return left
    }

    private mutating func parseConcat() throws -> JinjaExpression {
        var left = try parseMath2()
        while peekSymbol("~") {
            let line = currentLine
            position += 1
            left = .binary("~", left, try parseMath2(), line: line)
        }
        return left
    }

    private mutating func parseMath2() throws -> JinjaExpression {
        var left = try parsePow()
        while let op = ["*", "/", "//", "%"].first(where: { peekSymbol($0) }) {
            let line = currentLine
            position += 1
            left = .binary(op, left, try parsePow(), line: line)
        }
        return left
    }

    private mutating func parsePow() throws -> JinjaExpression {
        var left = try parseUnary()
        while peekSymbol("**") {
            let line = currentLine
            position += 1
            left = .binary("**", left, try parseUnary(), line: line)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> JinjaExpression {
        let line = currentLine
        var expression: JinjaExpression
        if accept("-") {
            expression = .unary("-", try parseUnary(withFilter: false), line: line)
        } else if accept("+") {
            expression = .unary("+", try parseUnary(withFilter: false), line: line)
        } else {
            expression = try parsePostfix(try parsePrimary())
        }
        return withFilter ? try parseFilterAndTest(expression) : expression
    }

    private mutating func parsePrimary() throws -> JinjaExpression {
        guard let token = next() else { throw error("expected an expression, found end of statement") }
        switch token.kind {
        case .string(var s):
            // Adjacent string literals join, as in Python.
            while position < tokens.count, case .string(let more) = tokens[position].kind { s += more; position += 1 }
            return .literal(.string(s))
        case .int(let i): return .literal(.int(i))
        case .double(let d): return .literal(.double(d))
        case .name(let name):
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name, line: token.line)
            }
        case .symbol("("):
            if accept(")") { return .tuple([]) }
            let first = try parseExpression()
            if accept(")") { return first }
            var items = [first]
            while accept(",") {
                if peekSymbol(")") { break }
                items.append(try parseExpression())
            }
            try expect(")")
            return .tuple(items)
        case .symbol("["):
            var items: [JinjaExpression] = []
            while !accept("]") {
                items.append(try parseExpression())
                if !accept(",") { try expect("]"); break }
            }
            return .list(items)
        case .symbol("{"):
            var pairs: [(JinjaExpression, JinjaExpression)] = []
            while !accept("}") {
                let key = try parseExpression()
                try expect(":")
                pairs.append((key, try parseExpression()))
                if !accept(",") { try expect("}"); break }
            }
            return .dict(pairs)
        default:
            position -= 1
            throw error("unexpected \(describeCurrent)")
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws -> JinjaExpression {
        var expression = base
        while true {
            let line = currentLine
            if accept(".") {
                guard let token = next() else { throw error("expected an attribute name") }
                switch token.kind {
                case .name(let name): expression = .attribute(expression, name, line: line)
                case .int(let i): expression = .item(expression, .literal(.int(i)), line: line)
                default: throw error("expected an attribute name")
                }
            } else if accept("[") {
                expression = try parseSubscript(expression, line: line)
            } else if peekSymbol("(") {
                expression = .call(expression, try parseCallArguments(), line: line)
            } else {
                return expression
            }
        }
    }

    private mutating func parseSubscript(_ base: JinjaExpression, line: Int) throws -> JinjaExpression {
        var parts: [JinjaExpression?] = [nil]
        var isSlice = false
        while !peekSymbol("]") {
            if accept(":") {
                isSlice = true
                parts.append(nil)
            } else {
                guard parts[parts.count - 1] == nil else { throw error("expected ':' or ']'") }
                parts[parts.count - 1] = try parseExpression()
            }
        }
        try expect("]")
        if !isSlice {
            guard let index = parts[0] else { throw error("expected a subscript") }
            return .item(base, index, line: line)
        }
        guard parts.count <= 3 else { throw error("a slice takes at most three parts") }
        return .slice(base, start: parts[0], stop: parts.count > 1 ? parts[1] : nil, step: parts.count > 2 ? parts[2] : nil, line: line)
    }

    mutating func parseCallArguments() throws -> JinjaExpression.Arguments {
        try expect("(")
        var arguments = JinjaExpression.Arguments()
        while !accept(")") {
            if position + 1 < tokens.count, case .name(let key) = tokens[position].kind, tokens[position + 1].kind == .symbol("=") {
                position += 2
                arguments.keyword.append((key, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else { throw error("a positional argument follows a keyword argument") }
                arguments.positional.append(try parseExpression())
            }
            if !accept(",") { try expect(")"); break }
        }
        return arguments
    }

    private mutating func parseFilterAndTest(_ base: JinjaExpression) throws -> JinjaExpression {
        var expression = base
        while true {
            let line = currentLine
            if accept("|") {
                let name = try dottedName()
                let arguments = peekSymbol("(") ? try parseCallArguments() : JinjaExpression.Arguments()
                expression = .filter(expression, name, arguments, line: line)
            } else if acceptKeyword("is") {
                let negated = acceptKeyword("not")
                let name = try dottedName()
                var arguments = JinjaExpression.Arguments()
                if peekSymbol("(") {
                    arguments = try parseCallArguments()
                } else if startsTestArgument {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                expression = .test(expression, name, arguments, negated: negated, line: line)
            } else {
                return expression
            }
        }
    }

    /// Whether a test name is followed by a bare argument (`x is divisibleby 3`, `x is sameas none`).
    private var startsTestArgument: Bool {
        guard position < tokens.count else { return false }
        switch tokens[position].kind {
        case .name(let n): return !["else", "or", "and", "if", "in", "is", "not", "recursive"].contains(n)
        case .string, .int, .double: return true
        case .symbol(let s): return s == "[" || s == "{"
        }
    }

    private mutating func dottedName() throws -> String {
        var name = try expectName()
        while accept(".") { name += "." + (try expectName()) }
        return name
    }
}
