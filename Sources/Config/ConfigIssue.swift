/// One problem found in a config, with the place it was found.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem; tests and tools match on it.
    public enum Kind: String, Sendable {
        case fileUnreadable
        case syntax
        case interpolation
        case unknownKey
        case missingKey
        case wrongType
        case invalidValue
        case unknownComponent
        case componentNotBuilt
        case malformedComponent
        case unknownReference
        case referenceCycle
        case unsupportedPassType
        case interfaceMismatch
        case consistency
    }

    public enum Severity: String, Sendable {
        case error
        case warning
    }

    public var kind: Kind
    public var severity: Severity
    public var message: String
    public var location: SourceLocation
    /// The dotted key path of the offending value ("model_raw.config.n_layer"), empty at the root.
    public var keyPath: String

    public init(
        _ kind: Kind, _ message: String, at location: SourceLocation, keyPath: String = "",
        severity: Severity = .error
    ) {
        self.kind = kind
        self.message = message
        self.location = location
        self.keyPath = keyPath
        self.severity = severity
    }

    /// `file:line:column: error: message (at key.path)`.
    public var description: String {
        let path = keyPath.isEmpty ? "" : " (at \(keyPath))"
        return "\(location): \(severity.rawValue): \(message)\(path)"
    }
}

/// Every problem found in a config at once.
public struct ConfigError: Error, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(_ issues: [ConfigIssue]) { self.issues = issues }
    public init(_ issue: ConfigIssue) { self.issues = [issue] }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Gathers issues during one pass so that every problem is reported together.
public final class IssueCollector {
    public private(set) var issues: [ConfigIssue] = []

    public var hasErrors: Bool { issues.contains { $0.severity == .error } }

    /// Records `issue` unless the same problem at the same place is known already (a subtree copied by
    /// interpolation repeats its source's problems under another key path).
    public func add(_ issue: ConfigIssue) {
        reports += 1
        let repeated = issues.contains {
            $0.kind == issue.kind && $0.location == issue.location && $0.message == issue.message
        }
        if !repeated { issues.append(issue) }
    }

    /// Problems reported so far, repeats included (a component copied by interpolation fails again where it was
    /// already reported); decoders compare it to tell follow-on checks from first causes.
    public var count: Int { reports }
    private var reports = 0

    public func add(_ kind: ConfigIssue.Kind, _ message: String, at location: SourceLocation, keyPath: String) {
        add(ConfigIssue(kind, message, at: location, keyPath: keyPath))
    }

    /// Throws when any error was collected.
    public func throwIfErrors() throws {
        if hasErrors { throw ConfigError(issues) }
    }
}

/// Thrown by a config type's `init(from:)` when a value has the right type but is not allowed
/// (a negative size, an empty list); the decoder reports it at the value's location.
public struct ConfigValueError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
