import Foundation

/// The jq paths Modalities configs use to pick the text of a JSONL record: `.text`, `.raw_content`,
/// `.meta.body`, `.["some key"]`.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    public let keys: [String]
    public let description: String

    /// Parses a jq path; nil when it uses more of jq than plain key access.
    public init?(_ pattern: String) {
        var keys: [String] = []
        var rest = Substring(pattern.trimmingCharacters(in: .whitespaces))
        guard rest.first == "." else { return nil }
        while !rest.isEmpty {
            guard rest.first == "." else { return nil }
            rest = rest.dropFirst()
            if rest.hasPrefix("[\"") {
                guard let close = rest.range(of: "\"]") else { return nil }
                keys.append(String(rest[rest.index(rest.startIndex, offsetBy: 2)..<close.lowerBound]))
                rest = rest[close.upperBound...]
            } else {
                let key = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
                guard !key.isEmpty else { return nil }
                keys.append(String(key))
                rest = rest.dropFirst(key.count)
            }
        }
        guard !keys.isEmpty else { return nil }
        self.keys = keys
        self.description = pattern
    }

    /// The string at this path in a JSON record, or why there is none.
    public func text(in record: Data) -> Result<String, RecordProblem> {
        guard let object = try? JSONSerialization.jsonObject(with: record) else { return .failure(.invalidJSON) }
        var current: Any = object
        for key in keys {
            guard let dictionary = current as? [String: Any], let next = dictionary[key] else {
                return .failure(.missingField(description))
            }
            current = next
        }
        guard let text = current as? String else { return .failure(.notAString(description)) }
        return .success(text)
    }

    /// Why a record has no text at the path.
    public enum RecordProblem: Error, Equatable, CustomStringConvertible {
        case invalidJSON
        case missingField(String)
        case notAString(String)

        public var description: String {
            switch self {
            case .invalidJSON: return "not valid JSON"
            case .missingField(let path): return "no field \(path)"
            case .notAString(let path): return "\(path) is not a string"
            }
        }
    }
}
