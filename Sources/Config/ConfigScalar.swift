/// Types with a stand-in value, returned after a problem was recorded so decoding can go on and report the rest.
protocol ConfigPlaceholder {
    static var placeholder: Any { get }
}

extension Array: ConfigPlaceholder { static var placeholder: Any { [Element]() } }
extension Dictionary: ConfigPlaceholder { static var placeholder: Any { [Key: Value]() } }

/// Scalar types read from YAML text with pydantic-like lax coercion.
protocol ConfigScalar: ConfigPlaceholder {
    static func coerce(_ node: ConfigNode, keyPath: String, graph: ObjectGraph) throws -> Any
}

extension ConfigScalar {
    static func text(of node: ConfigNode, expected: String, keyPath: String, graph: ObjectGraph) throws -> String {
        guard let text = node.scalarText, !node.isNull else {
            graph.issues.add(.wrongType, "expected \(expected), found \(node.kindDescription)", at: node.location, keyPath: keyPath)
            throw ConfigAbort()
        }
        return text
    }

    /// Records the problem and stops decoding this value; the enclosing key substitutes a placeholder.
    static func mismatch(_ node: ConfigNode, expected: String, keyPath: String, graph: ObjectGraph) throws -> Never {
        graph.issues.add(.wrongType, "expected \(expected), found \(node.kindDescription)", at: node.location, keyPath: keyPath)
        throw ConfigAbort()
    }
}

extension String: ConfigScalar {
    static var placeholder: Any { "" }
    static func coerce(_ node: ConfigNode, keyPath: String, graph: ObjectGraph) throws -> Any {
        guard let text = node.scalarText, !node.isNull else { try mismatch(node, expected: "a string", keyPath: keyPath, graph: graph) }
        return text
    }
}

extension Bool: ConfigScalar {
    static var placeholder: Any { false }
    static func coerce(_ node: ConfigNode, keyPath: String, graph: ObjectGraph) throws -> Any {
        guard let text = node.scalarText, !node.isNull else { try mismatch(node, expected: "a boolean", keyPath: keyPath, graph: graph) }
        switch text.lowercased() {
        case "true", "yes", "on", "1", "t", "y": return true
        case "false", "no", "off", "0", "f", "n": return false
        default: try mismatch(node, expected: "a boolean", keyPath: keyPath, graph: graph)
        }
    }
}

/// Integers: accepts `12`, `"12"`, `1_000` and exact floats such as `12.0`.
func parseInteger(_ text: String) -> Int? {
    let cleaned = text.trimmingWhitespace().replacingUnderscores()
    if let value = Int(cleaned) { return value }
    if let value = Double(cleaned), value.isFinite, value == value.rounded(), Swift.abs(value) < 9.2e18 { return Int(value) }
    return nil
}

func parseDouble(_ text: String) -> Double? {
    let cleaned = text.trimmingWhitespace().replacingUnderscores()
    switch cleaned.lowercased() {
    case ".inf", "inf", "+.inf", "+inf": return .infinity
    case "-.inf", "-inf": return -.infinity
    case ".nan", "nan": return .nan
    default: return Double(cleaned)
    }
}

extension Int: ConfigScalar {
    static var placeholder: Any { 0 }
    static func coerce(_ node: ConfigNode, keyPath: String, graph: ObjectGraph) throws -> Any {
        guard let text = node.scalarText, !node.isNull, let value = parseInteger(text) else {
            try mismatch(node, expected: "an integer", keyPath: keyPath, graph: graph)
        }
        return value
    }
}

extension Double: ConfigScalar {
    static var placeholder: Any { 0.0 }
    static func coerce(_ node: ConfigNode, keyPath: String, graph: ObjectGraph) throws -> Any {
        guard let text = node.scalarText, !node.isNull, let value = parseDouble(text) else {
            try mismatch(node, expected: "a number", keyPath: keyPath, graph: graph)
        }
        return value
    }
}

extension Float: ConfigScalar {
    static var placeholder: Any { Float(0) }
    static func coerce(_ node: ConfigNode, keyPath: String, graph: ObjectGraph) throws -> Any {
        guard let text = node.scalarText, !node.isNull, let value = parseDouble(text) else {
            try mismatch(node, expected: "a number", keyPath: keyPath, graph: graph)
        }
        return Float(value)
    }
}

extension UInt64: ConfigScalar {
    static var placeholder: Any { UInt64(0) }
    static func coerce(_ node: ConfigNode, keyPath: String, graph: ObjectGraph) throws -> Any {
        guard let text = node.scalarText, !node.isNull, let value = parseInteger(text), value >= 0 else {
            try mismatch(node, expected: "a non-negative integer", keyPath: keyPath, graph: graph)
        }
        return UInt64(value)
    }
}

private extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    func replacingUnderscores() -> String { filter { $0 != "_" } }
}

/// Thrown to stop decoding one value after its problem was recorded.
struct ConfigAbort: Error {}
