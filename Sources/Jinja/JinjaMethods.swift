import Foundation

/// The Python methods a template may call on strings, dicts and lists (the read-only ones: the sandbox refuses
/// `append`, `update` and the other methods that change a value, as Jinja2's `ImmutableSandboxedEnvironment` does).
enum JinjaMethods {
    private static func text(_ v: JinjaValue?) -> String? {
        if case .string(let t)? = v { return t }
        return nil
    }

    private static let mutating: Set<String> = [
        "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
        "update", "setdefault", "popitem", "add", "discard",
    ]

    static func method(_ name: String, of value: JinjaValue, interpreter: JinjaInterpreter) throws -> JinjaValue? {
        func bound(_ body: @escaping @Sendable ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) -> JinjaValue {
            .function(JinjaFunction(name: name, call: body))
        }
        switch value {
        case .string(let s): return stringMethod(name, s, bound: bound)
        case .object(let object):
            switch name {
            case "items": return bound { _, _ in .array(object.pairs.map { .tuple([.string($0.key), $0.value]) }) }
            case "keys": return bound { _, _ in .array(object.keys.map { .string($0) }) }
            case "values": return bound { _, _ in .array(object.pairs.map(\.value)) }
            case "get":
                return bound { arguments, _ in
                    guard case .string(let key)? = arguments.first else { return arguments.count > 1 ? arguments[1] : .none }
                    return object[key] ?? (arguments.count > 1 ? arguments[1] : .none)
                }
            case _ where mutating.contains(name) && object[name] == nil:
                throw interpreter.fail("access to attribute '\(name)' of 'dict' object is unsafe")
            default: return nil
            }
        case .array(let items), .tuple(let items):
            switch name {
            case "index":
                return bound { arguments, _ in
                    guard let target = arguments.first, let i = items.firstIndex(of: target) else {
                        throw JinjaError.render(line: 0, message: "value is not in list")
                    }
                    return .int(i)
                }
            case "count": return bound { arguments, _ in .int(items.filter { $0 == arguments.first }.count) }
            case _ where mutating.contains(name):
                throw interpreter.fail("access to attribute '\(name)' of '\(value.typeName)' object is unsafe")
            default: return nil
            }
        default: return nil
        }
    }

    private static func stringMethod(
        _ name: String, _ s: String, bound: (@escaping @Sendable ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) -> JinjaValue
    ) -> JinjaValue? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return bound { arguments, _ in
                .string(PythonString.strip(s, text(arguments.first), leading: name != "rstrip", trailing: name != "lstrip"))
            }
        case "upper": return bound { _, _ in .string(s.uppercased()) }
        case "lower": return bound { _, _ in .string(s.lowercased()) }
        case "title": return bound { _, _ in .string(PythonString.pythonTitle(s)) }
        case "capitalize": return bound { _, _ in .string(PythonString.capitalize(s)) }
        case "startswith", "endswith":
            return bound { arguments, _ in
                let candidates: [String]
                switch arguments.first {
                case .string(let p)?: candidates = [p]
                case .tuple(let items)?: candidates = items.compactMap { text($0) }
                default: throw JinjaError.render(line: 0, message: "\(name) needs a string or a tuple of strings")
                }
                return .bool(
                    candidates.contains {
                        name == "startswith"
                            ? s.unicodeScalars.starts(with: $0.unicodeScalars)
                            : s.unicodeScalars.reversed().starts(with: $0.unicodeScalars.reversed())
                    })
            }
        case "split", "rsplit":
            return bound { arguments, keyword in
                let separator = text(arguments.first ?? keyword.first { $0.0 == "sep" }?.1)
                let maxSplit = (arguments.count > 1 ? arguments[1] : keyword.first { $0.0 == "maxsplit" }?.1)?.integer ?? -1
                if name == "rsplit", maxSplit >= 0 {
                    let reversed = { (t: String) in String(String.UnicodeScalarView(t.unicodeScalars.reversed())) }
                    let parts = PythonString.split(reversed(s), separator.map(reversed), maxSplit: maxSplit)
                    return .array(parts.reversed().map { .string(reversed($0)) })
                }
                return .array(PythonString.split(s, separator, maxSplit: maxSplit).map { .string($0) })
            }
        case "splitlines": return bound { _, _ in .array(PythonString.splitLines(s).map { .string($0) }) }
        case "replace":
            return bound { arguments, _ in
                guard arguments.count >= 2, let old = text(arguments[0]), let new = text(arguments[1]) else {
                    throw JinjaError.render(line: 0, message: "replace() needs two strings")
                }
                return .string(PythonString.replace(s, old, new, count: arguments.count > 2 ? arguments[2].integer : nil))
            }
        case "find":
            return bound { arguments, _ in
                guard let needle = text(arguments.first) else { throw JinjaError.render(line: 0, message: "find() needs a string") }
                guard let range = s.range(of: needle) else { return .int(-1) }
                return .int(s.unicodeScalars[..<range.lowerBound].count)
            }
        case "count":
            return bound { arguments, _ in
                guard let needle = text(arguments.first), !needle.isEmpty else { return .int(s.unicodeScalars.count + 1) }
                return .int(s.components(separatedBy: needle).count - 1)
            }
        case "join":
            return bound { arguments, _ in
                guard let items = arguments.first?.elements else { throw JinjaError.render(line: 0, message: "join() needs a list") }
                return .string(items.map(\.pythonString).joined(separator: s))
            }
        case "isdigit":
            return bound { _, _ in
                .bool(
                    !s.isEmpty
                        && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
            }
        case "isspace": return bound { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(PythonString.isSpace)) }
        case "isalpha": return bound { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(\.properties.isAlphabetic)) }
        default: return nil
        }
    }
}

/// Python's `%` string formatting for the conversions templates use: `%s`, `%r`, `%d`, `%i`, `%f` (with a
/// precision) and `%%`.
enum PercentFormat {
    static func format(_ format: String, _ arguments: JinjaValue, interpreter: JinjaInterpreter) throws -> String {
        var values: [JinjaValue]
        if case .tuple(let items) = arguments { values = items } else { values = [arguments] }
        var out = ""
        var scalars = Substring(format).unicodeScalars[...]
        while let c = scalars.popFirst() {
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            var precision: Int?
            if scalars.first == "." {
                scalars.removeFirst()
                var digits = ""
                while let d = scalars.first, ("0"..."9").contains(d) { digits.unicodeScalars.append(d); scalars.removeFirst() }
                precision = Int(digits)
            }
            guard let conversion = scalars.popFirst() else { throw interpreter.fail("incomplete format") }
            if conversion == "%" { out += "%"; continue }
            guard !values.isEmpty else { throw interpreter.fail("not enough arguments for format string") }
            let value = values.removeFirst()
            switch conversion {
            case "s": out += value.pythonString
            case "r": out += value.pythonRepr
            case "d", "i":
                guard let n = value.numeric else {
                    throw interpreter.fail("%\(conversion) format: a real number is required, not \(value.typeName)")
                }
                out += String(Int(n))
            case "f":
                guard let n = value.numeric else { throw interpreter.fail("%f format: a real number is required, not \(value.typeName)") }
                out += String(format: "%.\(precision ?? 6)f", n)
            default: throw interpreter.fail("unsupported format character '\(conversion)'")
            }
        }
        guard values.isEmpty || !{ if case .tuple = arguments { return true } else { return false } }() else {
            throw interpreter.fail("not all arguments converted during string formatting")
        }
        return out
    }
}
