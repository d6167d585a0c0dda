import Foundation

/// Renders parsed statements: scopes, loops, macros and expression evaluation.
///
/// One interpreter serves one render; macros and namespaces created during it refer back to it.
final class JinjaInterpreter: @unchecked Sendable {
    // Confined to the render that created it (macros it hands out are only called during that render).
    private var scopes: [[String: JinjaValue]]
    private var line = 1

    private enum Flow { case normal, breakLoop, continueLoop }

    init(globals: [String: JinjaValue]) {
        var base = Self.builtinGlobals
        for (key, value) in globals { base[key] = value }
        scopes = [base]
    }

    func render(_ nodes: [JinjaNode]) throws -> String {
        var out = ""
        _ = try execute(nodes, into: &out)
        return out
    }

    // MARK: Statements

    private func execute(_ nodes: [JinjaNode], into out: inout String) throws -> Flow {
        for node in nodes {
            switch node {
            case .text(let text):
                out += text
            case .output(let expression, let line):
                self.line = line
                out += try evaluate(expression).pythonString
            case .conditional(let branches, let otherwise):
                var taken = false
                for (condition, body) in branches where try evaluate(condition).isTruthy {
                    taken = true
                    let flow = try execute(body, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try execute(otherwise, into: &out)
                    if flow != .normal { return flow }
                }
            case .loop(let loop):
                try run(loop, into: &out)
            case .assignment(let target, let expression, let line):
                self.line = line
                let value = try evaluate(expression)
                try assign(value, to: target)
            case .blockAssignment(let name, let body):
                var captured = ""
                _ = try execute(body, into: &captured)
                scopes[scopes.count - 1][name] = .string(captured)
            case .macro(let name, let parameters, let body):
                scopes[scopes.count - 1][name] = .function(makeMacro(name: name, parameters: parameters, body: body))
            case .filterBlock(let name, let arguments, let body, let line):
                var captured = ""
                _ = try execute(body, into: &captured)
                self.line = line
                let (positional, keyword) = try evaluate(arguments)
                out += try applyFilter(name, to: .string(captured), positional, keyword).pythonString
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    private func assign(_ value: JinjaValue, to target: JinjaNode.AssignmentTarget) throws {
        switch target {
        case .names(let names) where names.count == 1:
            scopes[scopes.count - 1][names[0]] = value
        case .names(let names):
            let items = try iterate(value)
            guard items.count == names.count else {
                throw fail("cannot unpack \(items.count) values into \(names.count) names")
            }
            for (name, item) in zip(names, items) { scopes[scopes.count - 1][name] = item }
        case .attribute(let namespaceName, let attribute):
            guard case .namespace(let namespace) = lookup(namespaceName) else {
                throw fail("can only set attributes on a namespace; '\(namespaceName)' is not one")
            }
            namespace.attributes[attribute] = value
        }
    }

    private func run(_ loop: JinjaNode.Loop, into out: inout String) throws {
        line = loop.line
        let source = try evaluate(loop.iterable)
        var items = try iterate(source)
        if let condition = loop.condition {
            items = try items.filter { item in
                scopes.append([:])
                defer { scopes.removeLast() }
                try bind(item, to: loop.targets)
                return try evaluate(condition).isTruthy
            }
        }
        if items.isEmpty {
            _ = try execute(loop.otherwise, into: &out)
            return
        }
        scopes.append([:])
        defer { scopes.removeLast() }
        for (i, item) in items.enumerated() {
            scopes[scopes.count - 1] = [:]
            try bind(item, to: loop.targets)
            scopes[scopes.count - 1]["loop"] = loopObject(index: i, items: items)
            let flow = try execute(loop.body, into: &out)
            if flow == .breakLoop { break }
        }
    }

    private func bind(_ item: JinjaValue, to targets: [String]) throws {
        if targets.count == 1 {
            scopes[scopes.count - 1][targets[0]] = item
            return
        }
        let parts = try iterate(item)
        guard parts.count == targets.count else {
            throw fail("cannot unpack \(parts.count) values into \(targets.count) loop variables")
        }
        for (name, part) in zip(targets, parts) { scopes[scopes.count - 1][name] = part }
    }

    private func loopObject(index: Int, items: [JinjaValue]) -> JinjaValue {
        let length = items.count
        var loop = JinjaObject()
        loop["index"] = .int(index + 1)
        loop["index0"] = .int(index)
        loop["revindex"] = .int(length - index)
        loop["revindex0"] = .int(length - index - 1)
        loop["first"] = .bool(index == 0)
        loop["last"] = .bool(index == length - 1)
        loop["length"] = .int(length)
        loop["depth"] = .int(1)
        loop["depth0"] = .int(0)
        loop["previtem"] = index > 0 ? items[index - 1] : .undefined("loop.previtem")
        loop["nextitem"] = index + 1 < length ? items[index + 1] : .undefined("loop.nextitem")
        loop["cycle"] = .function(
            JinjaFunction(name: "loop.cycle") { arguments, _ in
                guard !arguments.isEmpty else { return .undefined("loop.cycle") }
                return arguments[index % arguments.count]
            })
        return .object(loop)
    }

    private func makeMacro(name: String, parameters: [(String, JinjaExpression?)], body: [JinjaNode]) -> JinjaFunction {
        JinjaFunction(name: name) { [unowned self] positional, keyword in
            guard positional.count <= parameters.count else {
                throw self.fail("macro '\(name)' takes \(parameters.count) arguments, \(positional.count) given")
            }
            var frame: [String: JinjaValue] = [:]
            for (i, (parameter, defaultValue)) in parameters.enumerated() {
                if i < positional.count {
                    frame[parameter] = positional[i]
                } else if let given = keyword.first(where: { $0.0 == parameter }) {
                    frame[parameter] = given.1
                } else if let defaultValue {
                    frame[parameter] = try self.evaluate(defaultValue)
                } else {
                    frame[parameter] = .undefined(parameter)
                }
            }
            if let unknown = keyword.first(where: { k in !parameters.contains { $0.0 == k.0 } }) {
                throw self.fail("macro '\(name)' has no argument '\(unknown.0)'")
            }
            let savedLine = self.line
            self.scopes.append(frame)
            defer {
                self.scopes.removeLast()
                self.line = savedLine
            }
            var out = ""
            _ = try self.execute(body, into: &out)
            return .string(out)
        }
    }

    // MARK: Expressions

    func fail(_ message: String) -> JinjaError { .render(line: line, message: message) }

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return .undefined(name)
    }

    func undefinedError(_ value: JinjaValue) -> JinjaError {
        if case .undefined(let name) = value { return fail("'\(name)' is undefined") }
        return fail("value is undefined")
    }

    private func evaluate(_ arguments: JinjaExpression.Arguments) throws -> ([JinjaValue], [(String, JinjaValue)]) {
        (try arguments.positional.map { try evaluate($0) }, try arguments.keyword.map { ($0.0, try evaluate($0.1)) })
    }

    func evaluate(_ expression: JinjaExpression) throws -> JinjaValue {
        switch expression {
        case .literal(let value): return value
        case .name(let name, _): return lookup(name)
        case .list(let items): return .array(try items.map { try evaluate($0) })
        case .tuple(let items): return .tuple(try items.map { try evaluate($0) })
        case .dict(let pairs):
            var object = JinjaObject()
            for (keyExpression, valueExpression) in pairs {
                let key = try evaluate(keyExpression)
                guard case .string(let k) = key else { throw fail("dictionary keys must be strings, found \(key.typeName)") }
                object[k] = try evaluate(valueExpression)
            }
            return .object(object)
        case .attribute(let base, let name, let line):
            let value = try evaluate(base)
            self.line = line
            return try attribute(name, of: value)
        case .item(let base, let index, let line):
            let value = try evaluate(base)
            let key = try evaluate(index)
            self.line = line
            return try item(key, of: value)
        case .slice(let base, let start, let stop, let step, let line):
            let value = try evaluate(base)
            let bounds = try [start, stop, step].map { try $0.map { try evaluate($0) } }
            self.line = line
            return try slice(value, start: bounds[0], stop: bounds[1], step: bounds[2])
        case .call(let callee, let arguments, let line):
            let function = try evaluate(callee)
            let (positional, keyword) = try evaluate(arguments)
            self.line = line
            guard case .function(let f) = function else {
                if case .undefined = function { throw undefinedError(function) }
                throw fail("'\(function.typeName)' object is not callable")
            }
            return try withLine { try f.call(positional, keyword) }
        case .filter(let base, let name, let arguments, let line):
            let value = try evaluate(base)
            let (positional, keyword) = try evaluate(arguments)
            self.line = line
            return try applyFilter(name, to: value, positional, keyword)
        case .test(let base, let name, let arguments, let negated, let line):
            let value = try evaluate(base)
            let (positional, _) = try evaluate(arguments)
            self.line = line
            let result = try applyTest(name, to: value, positional)
            return .bool(negated ? !result : result)
        case .unary(let op, let operand, let line):
            let value = try evaluate(operand)
            self.line = line
            switch (op, value) {
            case ("not", _): return .bool(!value.isTruthy)
            case ("-", .int(let i)): return .int(-i)
            case ("-", .double(let d)): return .double(-d)
            case ("-", .bool(let b)): return .int(b ? -1 : 0)
            case ("+", .int), ("+", .double): return value
            case (_, .undefined): throw undefinedError(value)
            default: throw fail("bad operand type for unary \(op): '\(value.typeName)'")
            }
        case .binary("and", let left, let right, _):
            let l = try evaluate(left)
            return l.isTruthy ? try evaluate(right) : l
        case .binary("or", let left, let right, _):
            let l = try evaluate(left)
            return l.isTruthy ? l : try evaluate(right)
        case .binary(let op, let left, let right, let line):
            let l = try evaluate(left)
            let r = try evaluate(right)
            self.line = line
            return try binary(op, l, r)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map { try evaluate($0) } ?? .undefined("conditional expression")
        }
    }

    /// Iterates a value as Python's `for` does: lists, strings by character, dicts by key, undefined as empty.
    func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value {
        case .array(let items), .tuple(let items): return items
        case .object(let object): return object.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw fail("'\(value.typeName)' object is not iterable")
        }
    }

    private func attribute(_ name: String, of value: JinjaValue) throws -> JinjaValue {
        switch value {
        case .undefined: throw undefinedError(value)
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined(name)
        case .object(let object):
            if let method = try JinjaMethods.method(name, of: value, interpreter: self) { return method }
            return object[name] ?? .undefined(name)
        default:
            if let method = try JinjaMethods.method(name, of: value, interpreter: self) { return method }
            return .undefined(name)
        }
    }

    func item(_ key: JinjaValue, of value: JinjaValue) throws -> JinjaValue {
        switch (value, key) {
        case (.undefined, _): throw undefinedError(value)
        case (.object(let object), .string(let k)): return object[k] ?? .undefined(k)
        case (.namespace(let ns), .string(let k)): return ns.attributes[k] ?? .undefined(k)
        case (.array(let items), .int(let i)), (.tuple(let items), .int(let i)):
            let index = i < 0 ? items.count + i : i
            return items.indices.contains(index) ? items[index] : .undefined("[\(i)]")
        case (.string(let s), .int(let i)):
            let scalars = Array(s.unicodeScalars)
            let index = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(index) ? .string(String(scalars[index])) : .undefined("[\(i)]")
        case (_, .string(let name)): return try attribute(name, of: value)
        default: return .undefined("[\(key.pythonRepr)]")
        }
    }

    private func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?) throws -> JinjaValue {
        func int(_ v: JinjaValue?) throws -> Int? {
            switch v {
            case nil, .none?: return nil
            case .int(let i)?: return i
            default: throw fail("slice indices must be integers or None")
            }
        }
        let stepValue = try int(step) ?? 1
        guard stepValue != 0 else { throw fail("slice step cannot be zero") }
        func indices(count: Int) throws -> [Int] {
            func clamp(_ i: Int?, _ defaultValue: Int) -> Int {
                guard var i else { return defaultValue }
                if i < 0 { i += count }
                return stepValue > 0 ? min(max(i, 0), count) : min(max(i, -1), count - 1)
            }
            let from = clamp(try int(start), stepValue > 0 ? 0 : count - 1)
            let to = clamp(try int(stop), stepValue > 0 ? count : -1)
            return Array(stride(from: from, to: to, by: stepValue))
        }
        switch value {
        case .array(let items): return .array(try indices(count: items.count).map { items[$0] })
        case .tuple(let items): return .tuple(try indices(count: items.count).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            return .string(String(String.UnicodeScalarView(try indices(count: scalars.count).map { scalars[$0] })))
        case .undefined: throw undefinedError(value)
        default: throw fail("'\(value.typeName)' object is not subscriptable")
        }
    }

    func compare(_ l: JinjaValue, _ r: JinjaValue) throws -> Int {
        switch (l, r) {
        case (.int(let a), .int(let b)): return a < b ? -1 : a == b ? 0 : 1
        case (.int, .double), (.double, .int), (.double, .double), (.bool, _), (_, .bool):
            guard let a = l.numeric, let b = r.numeric else { break }
            return a < b ? -1 : a == b ? 0 : 1
        case (.string(let a), .string(let b)):
            return a == b ? 0 : a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1
        case (.array(let a), .array(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) {
                let c = try compare(x, y)
                if c != 0 { return c }
            }
            return a.count < b.count ? -1 : a.count == b.count ? 0 : 1
        case (.undefined, _): throw undefinedError(l)
        case (_, .undefined): throw undefinedError(r)
        default: break
        }
        throw fail("'<' not supported between instances of '\(l.typeName)' and '\(r.typeName)'")
    }

    private func binary(_ op: String, _ l: JinjaValue, _ r: JinjaValue) throws -> JinjaValue {
        switch op {
        case "==": return .bool(l == r)
        case "!=": return .bool(l != r)
        case "<": return .bool(try compare(l, r) < 0)
        case "<=": return .bool(try compare(l, r) <= 0)
        case ">": return .bool(try compare(l, r) > 0)
        case ">=": return .bool(try compare(l, r) >= 0)
        case "in": return .bool(try contains(r, l))
        case "not in": return .bool(!(try contains(r, l)))
        case "~": return .string(l.pythonString + r.pythonString)
        default: break
        }
        if case .undefined = l { throw undefinedError(l) }
        if case .undefined = r { throw undefinedError(r) }
        switch (op, l, r) {
        case ("+", .string(let a), .string(let b)): return .string(a + b)
        case ("+", .array(let a), .array(let b)): return .array(a + b)
        case ("+", .tuple(let a), .tuple(let b)): return .tuple(a + b)
        case ("*", .string(let s), .int(let n)), ("*", .int(let n), .string(let s)):
            try checkRepetition(s.utf8.count, n)
            return .string(String(repeating: s, count: max(0, n)))
        case ("*", .array(let a), .int(let n)), ("*", .int(let n), .array(let a)):
            try checkRepetition(a.count, n)
            return .array(Array(repeating: a, count: max(0, n)).flatMap { $0 })
        case ("%", .string(let format), _):
            return .string(try PercentFormat.format(format, r, interpreter: self))
        default: break
        }
        if let a = l.integer, let b = r.integer {
            switch op {
            case "+": return .int(a + b)
            case "-": return .int(a - b)
            case "*": return .int(a * b)
            case "/":
                guard b != 0 else { throw fail("division by zero") }
                return .double(Double(a) / Double(b))
            case "//":
                guard b != 0 else { throw fail("integer division or modulo by zero") }
                return .int(Int((Double(a) / Double(b)).rounded(.down)))
            case "%":
                guard b != 0 else { throw fail("integer division or modulo by zero") }
                let m = a % b
                return .int(m != 0 && (m < 0) != (b < 0) ? m + b : m)
            case "**":
                if b >= 0 {
                    var result = 1
                    for _ in 0..<b { result *= a }
                    return .int(result)
                }
                return .double(pow(Double(a), Double(b)))
            default: break
            }
        }
        if let a = l.numeric, let b = r.numeric {
            switch op {
            case "+": return .double(a + b)
            case "-": return .double(a - b)
            case "*": return .double(a * b)
            case "/":
                guard b != 0 else { throw fail("float division by zero") }
                return .double(a / b)
            case "//":
                guard b != 0 else { throw fail("float divmod()") }
                return .double((a / b).rounded(.down))
            case "%":
                guard b != 0 else { throw fail("float modulo") }
                let m = a.truncatingRemainder(dividingBy: b)
                return .double(m != 0 && (m < 0) != (b < 0) ? m + b : m)
            case "**": return .double(pow(a, b))
            default: break
            }
        }
        throw fail("unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'")
    }

    /// Refuses a repetition that would build a value over 256 MB (a template is configuration, not a program).
    private func checkRepetition(_ size: Int, _ count: Int) throws {
        guard count <= 0 || size <= (1 << 28) / count else {
            throw fail("repeating a value of size \(size) \(count) times is larger than the 256 MB a template may build")
        }
    }

    func contains(_ container: JinjaValue, _ element: JinjaValue) throws -> Bool {
        switch (container, element) {
        case (.string(let s), .string(let sub)): return sub.isEmpty || s.contains(sub)
        case (.string, _): throw fail("'in <string>' requires string as left operand, not \(element.typeName)")
        case (.array(let items), _), (.tuple(let items), _): return items.contains(element)
        case (.object(let object), .string(let key)): return object[key] != nil
        case (.object, _): return false
        case (.undefined, _): return false
        default: throw fail("argument of type '\(container.typeName)' is not iterable")
        }
    }

    // MARK: Globals

    private static let builtinGlobals: [String: JinjaValue] = [
        "raise_exception": .function(
            JinjaFunction(name: "raise_exception") { arguments, _ in
                throw JinjaError.raised(line: 0, message: arguments.first?.pythonString ?? "")
            }),
        "namespace": .function(
            JinjaFunction(name: "namespace") { arguments, keyword in
                var attributes = JinjaObject()
                if case .object(let initial)? = arguments.first { attributes = initial }
                for (key, value) in keyword { attributes[key] = value }
                return .namespace(JinjaNamespace(attributes))
            }),
        "dict": .function(
            JinjaFunction(name: "dict") { arguments, keyword in
                var object = JinjaObject()
                if case .object(let initial)? = arguments.first { object = initial }
                for (key, value) in keyword { object[key] = value }
                return .object(object)
            }),
        "range": .function(
            JinjaFunction(name: "range") { arguments, _ in
                let bounds = arguments.compactMap(\.integer)
                guard bounds.count == arguments.count, (1...3).contains(bounds.count) else {
                    throw JinjaError.render(line: 0, message: "range() takes one to three integers")
                }
                let (start, stop, step) = bounds.count == 1 ? (0, bounds[0], 1) : (bounds[0], bounds[1], bounds.count == 3 ? bounds[2] : 1)
                guard step != 0 else { throw JinjaError.render(line: 0, message: "range() arg 3 must not be zero") }
                let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
                guard count <= 100_000 else { throw JinjaError.render(line: 0, message: "range too big, maximum size is 100000") }
                return .array(stride(from: start, to: stop, by: step).map { .int($0) })
            }),
    ]

    /// Calls a global function, putting the current line into errors that functions raise without one.
    func withLine<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as JinjaError where error.line == 0 {
            switch error {
            case .raised(_, let message): throw JinjaError.raised(line: line, message: message)
            case .render(_, let message): throw JinjaError.render(line: line, message: message)
            case .syntax(_, let message): throw JinjaError.syntax(line: line, message: message)
            }
        }
    }
}

extension JinjaValue {
    /// The value as an integer (booleans count as 0 and 1), or nil.
    var integer: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The value as a number, or nil.
    var numeric: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}
