import Foundation
import Yams

/// Reads YAML text into a ``ConfigNode`` tree with locations.
public enum ConfigLoader {
    /// Parses the file at `path`.
    /// - Throws: ``ConfigError`` naming the file (and line for syntax errors).
    public static func load(file path: String) throws -> ConfigNode {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(ConfigIssue(.fileUnreadable, "cannot read config file", at: SourceLocation(file: path, line: 0, column: 0)))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(
                ConfigIssue(.fileUnreadable, "config file is not valid UTF-8", at: SourceLocation(file: path, line: 0, column: 0)))
        }
        return try parse(text, file: path)
    }

    /// Parses YAML `text`; `file` names it in locations.
    public static func parse(_ text: String, file: String = "<string>") throws -> ConfigNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(syntaxIssue(error, text: text, file: file))
        }
        guard let root else { return ConfigNode(.mapping([]), at: SourceLocation(file: file, line: 1, column: 1)) }
        var budget = maximumValues
        return try convert(root, file: file, budget: &budget)
    }

    /// The most values (scalars, lists and mappings, aliases counted at each use) a config may expand to. Real
    /// configs hold a few thousand; a few hundred bytes of nested YAML aliases can expand to billions.
    public static let maximumValues = 1_000_000

    /// The longest single value (1 MiB): paths, names and numbers are far shorter, and a longer one would be echoed
    /// by every message about it.
    public static let maximumScalarBytes = 1 << 20

    private static func location(_ mark: Mark?, file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0)
    }

    private static func convert(_ node: Node, file: String, budget: inout Int) throws -> ConfigNode {
        let here = location(node.mark, file: file)
        budget -= 1
        guard budget >= 0 else {
            throw ConfigError(
                ConfigIssue(
                    .syntax,
                    "the config expands to more than \(maximumValues) values (YAML aliases that repeat anchors, such as the one defined here, multiply)",
                    at: here))
        }
        switch node {
        case .scalar(let scalar):
            let bytes = scalar.string.utf8.count
            guard bytes <= maximumScalarBytes else {
                throw ConfigError(
                    ConfigIssue(
                        .syntax,
                        "a value of \(bytes) bytes starting \(String(scalar.string.prefix(20)).debugDescription)…; config values are limited to \(maximumScalarBytes) bytes",
                        at: here))
            }
            return ConfigNode(.scalar(scalar.string, quoted: scalar.style != .plain && scalar.style != .any), at: here)
        case .sequence(let sequence):
            var elements: [ConfigNode] = []
            for element in sequence { elements.append(try convert(element, file: file, budget: &budget)) }
            return ConfigNode(.sequence(elements), at: here)
        case .mapping(let mapping):
            var entries: [ConfigNode.Entry] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw ConfigError(ConfigIssue(.syntax, "mapping keys must be plain text", at: location(key.mark, file: file)))
                }
                entries.append(
                    ConfigNode.Entry(
                        key: keyScalar.string, keyLocation: location(key.mark, file: file),
                        node: try convert(value, file: file, budget: &budget)))
            }
            return ConfigNode(.mapping(entries), at: here)
        case .alias(let alias):
            throw ConfigError(
                ConfigIssue(
                    .syntax, "unresolved YAML alias *\(alias.anchor.rawValue)",
                    at: location(alias.mark, file: file)))
        }
    }

    private static func syntaxIssue(_ error: YamlError, text: String, file: String) -> ConfigIssue {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return ConfigIssue(.syntax, "YAML syntax error: \(problem)", at: location(mark, file: file))
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? ""
            let place = secondOccurrence(of: key, in: text, after: context.mark, file: file) ?? location(context.mark, file: file)
            return ConfigIssue(.syntax, "duplicate key '\(key)' in a mapping", at: place)
        default:
            return ConfigIssue(.syntax, "YAML error: \(error)", at: SourceLocation(file: file, line: 0, column: 0))
        }
    }
}

extension ConfigLoader {
    /// Where `key` is written a second time at the same indentation as its first appearance after `mark`.
    fileprivate static func secondOccurrence(of key: String, in text: String, after mark: Mark?, file: String) -> SourceLocation? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var firstIndent: Int?
        for (index, line) in lines.enumerated() where index + 1 >= (mark?.line ?? 1) {
            let indent = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indent)
            guard rest.hasPrefix(key), rest.dropFirst(key.count).drop(while: { $0 == " " }).first == ":" else { continue }
            if let firstIndent {
                if indent == firstIndent { return SourceLocation(file: file, line: index + 1, column: indent + 1) }
            } else {
                firstIndent = indent
            }
        }
        return nil
    }
}

/// Writes a ``ConfigNode`` back as block-style YAML (what `modalities config resolve` prints).
public enum ConfigEmitter {
    public static func yaml(_ node: ConfigNode) -> String {
        var output = ""
        emit(node, indent: 0, into: &output, inline: false)
        return output
    }

    private static func emit(_ node: ConfigNode, indent: Int, into output: inout String, inline: Bool) {
        let pad = String(repeating: "  ", count: indent)
        switch node.value {
        case .scalar:
            output += (inline ? " " : pad) + scalar(node) + "\n"
        case .sequence(let elements):
            if elements.isEmpty {
                output += (inline ? " " : pad) + "[]\n"
                return
            }
            if inline { output += "\n" }
            for element in elements {
                output += pad + "-"
                switch element.value {
                case .scalar: output += " " + scalar(element) + "\n"
                case .sequence(let inner) where inner.isEmpty: output += " []\n"
                case .mapping(let entries) where entries.isEmpty: output += " {}\n"
                default:
                    output += "\n"
                    emit(element, indent: indent + 1, into: &output, inline: false)
                }
            }
        case .mapping(let entries):
            if entries.isEmpty {
                output += (inline ? " " : pad) + "{}\n"
                return
            }
            if inline { output += "\n" }
            for entry in entries {
                output += pad + key(entry.key) + ":"
                emit(entry.node, indent: indent + 1, into: &output, inline: true)
            }
        }
    }

    private static func key(_ text: String) -> String {
        needsQuotes(text) ? quoted(text) : text
    }

    private static func scalar(_ node: ConfigNode) -> String {
        guard case .scalar(let text, let isQuoted) = node.value else { return "" }
        if node.isNull { return "null" }
        return isQuoted || needsQuotes(text) ? quoted(text) : text
    }

    private static func needsQuotes(_ text: String) -> Bool {
        if text.isEmpty { return true }
        if text.first == " " || text.last == " " { return true }
        let special: Set<Character> = [":", "#", "{", "}", "[", "]", ",", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", "\n", "\t"]
        return text.contains { special.contains($0) }
            || text.hasPrefix("-") && text.count > 1 && !text.dropFirst().allSatisfy { $0.isNumber || $0 == "." || $0 == "e" }
    }

    private static func quoted(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }
}
