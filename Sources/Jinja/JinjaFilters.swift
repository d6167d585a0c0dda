import Foundation

/// Jinja2's built-in filters and tests, with Python's results.
extension JinjaInterpreter {
    func applyFilter(
        _ name: String, to value: JinjaValue, _ arguments: [JinjaValue], _ keyword: [(String, JinjaValue)]
    ) throws -> JinjaValue {
        func argument(_ index: Int, _ key: String) -> JinjaValue? {
            index < arguments.count ? arguments[index] : keyword.first { $0.0 == key }?.1
        }
        func string(_ v: JinjaValue) throws -> String {
            if case .undefined = v { return "" }
            return v.pythonString
        }
        switch name {
        case "default", "d":
            let fallback = argument(0, "default_value") ?? .string("")
            let boolean = argument(1, "boolean")?.isTruthy ?? false
            if case .undefined = value { return fallback }
            return boolean && !value.isTruthy ? fallback : value
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let a), .tuple(let a): return .int(a.count)
            case .object(let o): return .int(o.count)
            case .undefined: return .int(0)
            default: throw fail("object of type '\(value.typeName)' has no len()")
            }
        case "trim":
            let s = try string(value)
            if let chars = argument(0, "chars"), case .string(let set) = chars { return .string(PythonString.strip(s, set)) }
            return .string(PythonString.strip(s, nil))
        case "upper": return .string(try string(value).uppercased())
        case "lower": return .string(try string(value).lowercased())
        case "capitalize": return .string(PythonString.capitalize(try string(value)))
        case "title": return .string(PythonString.jinjaTitle(try string(value)))
        case "string": return .string(try string(value))
        case "safe": return value
        case "e", "escape":
            return .string(
                try string(value).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(
                        of: "'", with: "&#39;"))
        case "tojson":
            var options = JSONText.DumpOptions()
            switch argument(0, "indent") {
            case .int(let n)?: options.indent = String(repeating: " ", count: n)
            case .string(let s)?: options.indent = s
            default: break
            }
            if let ascii = keyword.first(where: { $0.0 == "ensure_ascii" })?.1 { options.ensureASCII = ascii.isTruthy }
            if let sort = keyword.first(where: { $0.0 == "sort_keys" })?.1 { options.sortKeys = sort.isTruthy }
            if let separators = keyword.first(where: { $0.0 == "separators" })?.1.elements, separators.count == 2 {
                options.itemSeparator = separators[0].pythonString
                options.keySeparator = separators[1].pythonString
            }
            do {
                return .string(try JSONText.dump(value, options: options))
            } catch let error as JSONTextError {
                throw fail(error.description)
            }
        case "join":
            let separator = try argument(0, "d").map(string) ?? ""
            var items = try iterate(value)
            if let attribute = argument(1, "attribute") { items = try items.map { try item(attribute, of: $0) } }
            return .string(try items.map(string).joined(separator: separator))
        case "replace":
            guard let old = argument(0, "old"), let new = argument(1, "new") else { throw fail("replace() needs 'old' and 'new'") }
            return .string(PythonString.replace(try string(value), try string(old), try string(new), count: argument(2, "count")?.integer))
        case "indent":
            var width = "    "
            switch argument(0, "width") {
            case .int(let n)?: width = String(repeating: " ", count: n)
            case .string(let s)?: width = s
            default: break
            }
            return .string(
                PythonString.indent(
                    try string(value), width: width, first: argument(1, "first")?.isTruthy ?? false,
                    blank: argument(2, "blank")?.isTruthy ?? false))
        case "first":
            let items = try iterate(value)
            return items.first ?? .undefined("first")
        case "last":
            let items = try iterate(value)
            return items.last ?? .undefined("last")
        case "list": return .array(try iterate(value))
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try iterate(value).reversed())
        case "unique":
            var seen: [JinjaValue] = []
            for element in try iterate(value) where !seen.contains(element) { seen.append(element) }
            return .array(seen)
        case "items":
            switch value {
            case .object(let o): return .array(o.pairs.map { .tuple([.string($0.key), $0.value]) })
            case .undefined: return .array([])
            default: throw fail("can only get item pairs from a mapping")
            }
        case "dictsort":
            guard case .object(let o) = value else { throw fail("dictsort needs a mapping") }
            let byValue = argument(2, "by").map { $0.pythonString == "value" } ?? false
            let reverse = argument(1, "reverse")?.isTruthy ?? false
            var pairs = o.pairs.map { JinjaValue.tuple([.string($0.key), $0.value]) }
            pairs = try sorted(
                pairs, by: { v in try self.item(.int(byValue ? 1 : 0), of: v) },
                caseSensitive: argument(0, "case_sensitive")?.isTruthy ?? false)
            return .array(reverse ? pairs.reversed() : pairs)
        case "sort":
            let reverse = argument(0, "reverse")?.isTruthy ?? false
            let caseSensitive = argument(1, "case_sensitive")?.isTruthy ?? false
            let attribute = argument(2, "attribute")
            let result = try sorted(
                try iterate(value), by: { v in try attribute.map { try self.item($0, of: v) } ?? v }, caseSensitive: caseSensitive)
            return .array(reverse ? result.reversed() : result)
        case "min", "max":
            let items = try iterate(value)
            guard var best = items.first else { return .undefined(name) }
            for element in items.dropFirst() {
                let c = try compare(element, best)
                if (name == "min" && c < 0) || (name == "max" && c > 0) { best = element }
            }
            return best
        case "sum":
            var total = argument(1, "start") ?? .int(0)
            for element in try iterate(value) {
                let term = try argument(0, "attribute").map { try item($0, of: element) } ?? element
                total = try binaryAdd(total, term)
            }
            return total
        case "abs":
            switch value {
            case .int(let i): return .int(abs(i))
            case .double(let d): return .double(abs(d))
            default: throw fail("bad operand type for abs(): '\(value.typeName)'")
            }
        case "int":
            switch value {
            case .int: return value
            case .double(let d): return .int(Int(d))
            case .bool(let b): return .int(b ? 1 : 0)
            case .string(let s):
                return .int(
                    Int(PythonString.strip(s, nil)) ?? Double(PythonString.strip(s, nil)).map { Int($0) } ?? argument(0, "default")?.integer
                        ?? 0)
            default: return argument(0, "default") ?? .int(0)
            }
        case "float":
            switch value {
            case .int(let i): return .double(Double(i))
            case .double: return value
            case .string(let s): return .double(Double(PythonString.strip(s, nil)) ?? argument(0, "default")?.numeric ?? 0)
            default: return argument(0, "default") ?? .double(0)
            }
        case "round":
            guard let number = value.numeric else { throw fail("round needs a number") }
            let precision = argument(0, "precision")?.integer ?? 0
            let method = argument(1, "method")?.pythonString ?? "common"
            let scale = pow(10.0, Double(precision))
            // "common" is Python's round(): halves go to the even neighbour.
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
            return .double((number * scale).rounded(rule) / scale)
        case "wordcount":
            return .int(try string(value).split(whereSeparator: { $0.isWhitespace }).count)
        case "attr":
            guard let attribute = argument(0, "name") else { throw fail("attr() needs a name") }
            return try item(attribute, of: value)
        case "map":
            let items = try iterate(value)
            if let attribute = keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = keyword.first { $0.0 == "default" }?.1
                return .array(
                    try items.map { element in
                        let v = try item(attribute, of: element)
                        if case .undefined = v, let fallback { return fallback }
                        return v
                    })
            }
            guard let filterName = arguments.first?.pythonString else { throw fail("map() needs a filter name or attribute=") }
            return .array(try items.map { try applyFilter(filterName, to: $0, Array(arguments.dropFirst()), []) })
        case "select", "reject":
            let keep = name == "select"
            return .array(
                try iterate(value).filter { element in
                    guard let testName = arguments.first?.pythonString else { return element.isTruthy == keep }
                    return try applyTest(testName, to: element, Array(arguments.dropFirst())) == keep
                })
        case "selectattr", "rejectattr":
            let keep = name == "selectattr"
            guard let attribute = arguments.first else { throw fail("\(name)() needs an attribute name") }
            return .array(
                try iterate(value).filter { element in
                    let v = try item(attribute, of: element)
                    guard arguments.count > 1 else { return v.isTruthy == keep }
                    return try applyTest(arguments[1].pythonString, to: v, Array(arguments.dropFirst(2))) == keep
                })
        case "format":
            return .string(try PercentFormat.format(try string(value), .tuple(arguments), interpreter: self))
        default:
            throw fail("no filter named '\(name)'")
        }
    }

    private func binaryAdd(_ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        if let x = a.integer, let y = b.integer { return .int(x + y) }
        if let x = a.numeric, let y = b.numeric { return .double(x + y) }
        throw fail("unsupported operand type(s) for +: '\(a.typeName)' and '\(b.typeName)'")
    }

    private func sorted(_ items: [JinjaValue], by key: (JinjaValue) throws -> JinjaValue, caseSensitive: Bool) throws -> [JinjaValue] {
        let keyed = try items.map { element -> (JinjaValue, JinjaValue) in
            var k = try key(element)
            if !caseSensitive, case .string(let s) = k { k = .string(s.lowercased()) }
            return (k, element)
        }
        // A stable merge of comparisons that can throw: insertion into the sorted prefix.
        var result: [(JinjaValue, JinjaValue)] = []
        for entry in keyed {
            var index = result.count
            while index > 0, try compare(result[index - 1].0, entry.0) > 0 { index -= 1 }
            result.insert(entry, at: index)
        }
        return result.map(\.1)
    }

    func applyTest(_ name: String, to value: JinjaValue, _ arguments: [JinjaValue]) throws -> Bool {
        switch name {
        case "defined": return value.isDefined
        case "undefined": return !value.isDefined
        case "none": return value == .none && value.isDefined
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true) && { if case .bool = value { return true } else { return false } }()
        case "false": if case .bool(false) = value { return true } else { return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number":
            switch value {
            case .int, .double, .bool: return true
            default: return false
            }
        case "string": if case .string = value { return true } else { return false }
        case "mapping": if case .object = value { return true } else { return false }
        case "sequence", "iterable":
            switch value {
            case .array, .tuple, .string, .object: return true
            default: return false
            }
        case "callable": if case .function = value { return true } else { return false }
        case "lower": if case .string(let s) = value { return s == s.lowercased() } else { return false }
        case "upper": if case .string(let s) = value { return s == s.uppercased() } else { return false }
        case "odd", "even":
            guard let i = value.integer else { throw fail("\(name) needs an integer") }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard let i = value.integer, let n = arguments.first?.integer, n != 0 else { throw fail("divisibleby needs integers") }
            return i % n == 0
        case "sameas": return arguments.first.map { $0 == value && $0.typeName == value.typeName } ?? false
        case "eq", "equalto", "==": return arguments.first == value
        case "ne", "!=": return arguments.first != value
        case "lt", "lessthan", "<": return try compare(value, arguments.first ?? .none) < 0
        case "le", "<=": return try compare(value, arguments.first ?? .none) <= 0
        case "gt", "greaterthan", ">": return try compare(value, arguments.first ?? .none) > 0
        case "ge", ">=": return try compare(value, arguments.first ?? .none) >= 0
        case "in": return try contains(arguments.first ?? .undefined("in"), value)
        default: throw fail("no test named '\(name)'")
        }
    }
}
