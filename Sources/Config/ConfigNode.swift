/// A YAML value with the location it came from: the tree every config stage works on.
///
/// Mappings keep their key order and each key's own location, so messages can point at a key or its value.
public struct ConfigNode: Sendable, CustomStringConvertible {
    /// The shape of a node.
    public enum Value: Sendable {
        /// A scalar's text; `quoted` scalars are always strings, plain ones may be numbers, booleans or null.
        case scalar(String, quoted: Bool)
        case sequence([ConfigNode])
        case mapping([Entry])
    }

    /// One key of a mapping.
    public struct Entry: Sendable {
        public var key: String
        public var keyLocation: SourceLocation
        public var node: ConfigNode

        public init(key: String, keyLocation: SourceLocation, node: ConfigNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.node = node
        }
    }

    public var value: Value
    public var location: SourceLocation
    /// A value whose interpolation failed (the failure is reported): validation treats it as unknown and goes on, so
    /// that one bad `${...}` does not hide the config's other problems.
    public private(set) var isUnresolved = false

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    /// The stand-in for a value whose interpolation failed.
    static func unresolved(at location: SourceLocation) -> ConfigNode {
        var node = ConfigNode(.scalar("", quoted: true), at: location)
        node.isUnresolved = true
        return node
    }

    // MARK: Reading

    /// The entries of a mapping, nil for other nodes.
    public var entries: [Entry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    /// The elements of a sequence, nil for other nodes.
    public var elements: [ConfigNode]? {
        if case .sequence(let elements) = value { return elements }
        return nil
    }

    /// The text of a scalar, nil for collections.
    public var scalarText: String? {
        if case .scalar(let text, _) = value { return text }
        return nil
    }

    /// Whether this is YAML's null (`null`, `~` or nothing), written without quotes.
    public var isNull: Bool {
        if case .scalar(let text, quoted: false) = value { return ["", "null", "Null", "NULL", "~"].contains(text) }
        return false
    }

    /// The value under `key` of a mapping.
    public subscript(key: String) -> ConfigNode? {
        entries?.first { $0.key == key }?.node
    }

    /// The keys of a mapping, in file order.
    public var keys: [String] { entries?.map(\.key) ?? [] }

    /// What kind of node this is, for messages ("a mapping", "a list", "the string \"x\"").
    public var kindDescription: String {
        switch value {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let text, let quoted):
            if isNull { return "null" }
            return quoted ? "the string \"\(text)\"" : "'\(text)'"
        }
    }

    public var description: String { ConfigEmitter.yaml(self) }
}

/// A component node: `component_key`, `variant_key` and `config`.
public struct ComponentNode: Sendable {
    public var componentKey: String
    public var variantKey: String
    public var config: ConfigNode
    public var node: ConfigNode

    /// Recognises `node` as a component when it is a mapping with a `component_key`.
    public init?(_ node: ConfigNode) {
        guard node["component_key"] != nil else { return nil }
        self.node = node
        self.componentKey = node["component_key"]?.scalarText ?? ""
        self.variantKey = node["variant_key"]?.scalarText ?? ""
        self.config = node["config"] ?? ConfigNode(.mapping([]), at: node.location)
    }
}

/// A reference node: exactly `instance_key` and `pass_type`.
public struct ReferenceNode: Sendable {
    public var instanceKey: String
    public var passType: String
    public var node: ConfigNode

    /// Recognises `node` as a reference when its keys are exactly `instance_key` and `pass_type`.
    public init?(_ node: ConfigNode) {
        guard let keys = node.entries?.map(\.key), Set(keys) == ["instance_key", "pass_type"], keys.count == 2 else {
            return nil
        }
        self.node = node
        self.instanceKey = node["instance_key"]?.scalarText ?? ""
        self.passType = node["pass_type"]?.scalarText ?? ""
    }
}
