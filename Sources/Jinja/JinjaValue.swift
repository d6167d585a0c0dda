/// A value a Jinja template reads or computes, with Python's semantics for truth, equality and printing.
///
/// Mappings keep their insertion order, as Python dictionaries do, so `tojson`, `items()` and a JSON line written
/// back out list keys in the order they were read.
public indirect enum JinjaValue: Sendable, Equatable {
    /// A name the context does not define (prints as nothing, is false, iterates as empty).
    case undefined(String)
    /// Python's `None` (JSON `null`).
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    /// A Python tuple: `(a, b)` literals, `items()` pairs; iterates like a list, prints with parentheses.
    case tuple([JinjaValue])
    /// An ordered mapping; keys are strings as in JSON and YAML data.
    case object(JinjaObject)
    /// A `namespace()` whose attributes `{% set ns.x = … %}` may change inside loops.
    case namespace(JinjaNamespace)
    /// A callable: a macro, a global function or a bound method.
    case function(JinjaFunction)

    public static func == (lhs: JinjaValue, rhs: JinjaValue) -> Bool {
        switch (lhs, rhs) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.bool(let a), .int(let b)), (.int(let b), .bool(let a)): return (a ? 1 : 0) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)), (.tuple(let a), .tuple(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        case (.namespace(let a), .namespace(let b)): return a === b
        case (.function(let a), .function(let b)): return a.name == b.name
        default: return false
        }
    }

    /// Python's truth value.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a), .tuple(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        case .namespace, .function: return true
        }
    }

    /// The elements of a list or tuple.
    public var elements: [JinjaValue]? {
        switch self {
        case .array(let items), .tuple(let items): return items
        default: return nil
        }
    }

    /// `true` unless the value is undefined.
    public var isDefined: Bool {
        if case .undefined = self { return false }
        return true
    }

    /// The type's name as Python reports it, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        }
    }
}

/// An insertion-ordered string-keyed mapping (a Python `dict` read from JSON or YAML).
public struct JinjaObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    public init() {}

    /// A mapping with `pairs` in order; a repeated key keeps its first position and its last value.
    public init(_ pairs: [(String, JinjaValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }
    /// The entries in insertion order.
    public var pairs: [(key: String, value: JinjaValue)] { keys.map { ($0, storage[$0]!) } }

    public static func == (lhs: JinjaObject, rhs: JinjaObject) -> Bool {
        // Python compares dicts without regard to order.
        lhs.storage == rhs.storage
    }
}

/// The object `namespace()` returns: attributes that assignments inside a loop body can change.
public final class JinjaNamespace: @unchecked Sendable {
    // Confined to the one render that created it.
    var attributes: JinjaObject

    init(_ attributes: JinjaObject) { self.attributes = attributes }
}

/// A function a template can call, with positional and keyword arguments.
public struct JinjaFunction: Sendable {
    public let name: String
    let call: @Sendable ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue

    /// - Parameters:
    ///   - name: the name errors use.
    ///   - call: receives the positional arguments and the keyword arguments in call order.
    public init(name: String, call: @escaping @Sendable ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) {
        self.name = name
        self.call = call
    }
}
