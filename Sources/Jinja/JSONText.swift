/// JSON as Python's `json` module reads and writes it: key order kept, integers kept apart from floats, and
/// `json.dumps` spacing (`", "` and `": "`, or `","` plus newlines when indented).
public enum JSONText {
    /// The options of Python's `json.dumps` that chat templates pass to `tojson`.
    public struct DumpOptions: Sendable {
        public var ensureASCII = false
        public var indent: String? = nil
        public var itemSeparator: String? = nil
        public var keySeparator: String? = nil
        public var sortKeys = false
        public init() {}
    }

    /// Parses one JSON document.
    ///
    /// - Throws: ``JSONTextError`` with the byte offset of the problem.
    public static func parse(_ text: String) throws -> JinjaValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw parser.error("extra data after the value") }
        return value
    }

    /// Python's `json.dumps(value, …)`.
    public static func dump(_ value: JinjaValue, options: DumpOptions = DumpOptions()) throws -> String {
        var out = ""
        try write(value, to: &out, options: options, level: 0)
        return out
    }

    private static func write(_ value: JinjaValue, to out: inout String, options: DumpOptions, level: Int) throws {
        let itemSeparator = options.itemSeparator ?? (options.indent == nil ? ", " : ",")
        let keySeparator = options.keySeparator ?? ": "
        let newline = { (level: Int) -> String in
            options.indent.map { "\n" + String(repeating: $0, count: level) } ?? ""
        }
        switch value {
        case .undefined, .function:
            throw JSONTextError.notSerializable(typeName: value.typeName)
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : JinjaValue.pythonFloat(d)
        case .string(let s): out += quoted(s, ensureASCII: options.ensureASCII)
        case .array(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                out += newline(level + 1)
                try write(item, to: &out, options: options, level: level + 1)
            }
            out += newline(level)
            out += "]"
        case .object(let object):
            try writeObject(
                object.pairs, to: &out, options: options, level: level,
                separators: (itemSeparator, keySeparator), newline: newline)
        case .namespace(let ns):
            try writeObject(
                ns.attributes.pairs, to: &out, options: options, level: level,
                separators: (itemSeparator, keySeparator), newline: newline)
        }
    }

    private static func writeObject(
        _ pairs: [(key: String, value: JinjaValue)], to out: inout String, options: DumpOptions, level: Int,
        separators: (item: String, key: String), newline: (Int) -> String
    ) throws {
        if pairs.isEmpty { out += "{}"; return }
        let ordered = options.sortKeys ? pairs.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } : pairs
        out += "{"
        for (i, pair) in ordered.enumerated() {
            if i > 0 { out += separators.item }
            out += newline(level + 1)
            out += quoted(pair.key, ensureASCII: options.ensureASCII) + separators.key
            try write(pair.value, to: &out, options: options, level: level + 1)
        }
        out += newline(level)
        out += "}"
    }

    /// A JSON string literal as `json.dumps` writes it.
    public static func quoted(_ s: String, ensureASCII: Bool) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7e) {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        out += "\\u" + hex(0xD800 + (v >> 10), width: 4) + "\\u" + hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + hex(scalar.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        func error(_ message: String) -> JSONTextError { .invalid(offset: position, message: message) }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func value(depth: Int) throws -> JinjaValue {
            guard depth < 512 else { throw error("nesting deeper than 512 levels") }
            guard position < bytes.count else { throw error("unexpected end of text") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var object = JinjaObject()
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
                while true {
                    skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    let key = try string()
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    object[key] = try value(depth: depth + 1)
                    skipWhitespace()
                    if try endOrComma("}") { return .object(object) }
                }
            case UInt8(ascii: "["):
                position += 1
                var items: [JinjaValue] = []
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    if try endOrComma("]") { return .array(items) }
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .none
            case UInt8(ascii: "N"): try literal("NaN"); return .double(.nan)
            case UInt8(ascii: "I"): try literal("Infinity"); return .double(.infinity)
            default: return try number()
            }
        }

        mutating func expect(_ character: Unicode.Scalar) throws {
            guard position < bytes.count, bytes[position] == UInt8(ascii: character) else { throw error("expected '\(character)'") }
            position += 1
        }

        mutating func endOrComma(_ end: Unicode.Scalar) throws -> Bool {
            guard position < bytes.count else { throw error("unexpected end of text") }
            if bytes[position] == UInt8(ascii: end) { position += 1; return true }
            try expect(",")
            return false
        }

        mutating func literal(_ word: String) throws {
            let w = Array(word.utf8)
            guard position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w else {
                throw error("invalid literal")
            }
            position += w.count
        }

        mutating func number() throws -> JinjaValue {
            let start = position
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "I") { try literal("Infinity"); return .double(-.infinity) }
            }
            var isFloat = false
            while position < bytes.count {
                let b = bytes[position]
                if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                    || ((b == UInt8(ascii: "+") || b == UInt8(ascii: "-")) && isFloat)
                {
                    isFloat = true
                } else {
                    break
                }
                position += 1
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if !isFloat, let i = Int(text) { return .int(i) }
            guard !text.isEmpty, text != "-", let d = Double(text) else {
                position = start
                throw error("expected a value")
            }
            return .double(d)
        }

        mutating func string() throws -> String {
            position += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var runStart = position
            func flush(_ end: Int) {
                if end > runStart { scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars) }
            }
            while true {
                guard position < bytes.count else { throw error("unterminated string") }
                let b = bytes[position]
                if b == UInt8(ascii: "\"") {
                    flush(position)
                    position += 1
                    return String(scalars)
                }
                if b < 0x20 { throw error("control character in a string") }
                if b != UInt8(ascii: "\\") { position += 1; continue }
                flush(position)
                position += 1
                guard position < bytes.count else { throw error("unterminated escape") }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), position + 1 < bytes.count,
                        bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                    {
                        let save = position
                        position += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            position = save
                        }
                    }
                    // A lone surrogate (Python keeps it; a Swift string cannot) becomes U+FFFD.
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                }
                runStart = position
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard position + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
            else { throw error("invalid \\u escape") }
            position += 4
            return v
        }
    }
}

/// A JSON text that does not parse, or a value JSON cannot hold.
public enum JSONTextError: Error, CustomStringConvertible, Equatable {
    case invalid(offset: Int, message: String)
    case notSerializable(typeName: String)

    public var description: String {
        switch self {
        case .invalid(let offset, let message): return "invalid JSON at byte \(offset): \(message)"
        case .notSerializable(let typeName): return "Object of type \(typeName) is not JSON serializable"
        }
    }
}
