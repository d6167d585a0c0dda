/// Building and changing config trees in code (sweep generation, resumed runs).
extension ConfigNode {
    /// A plain scalar (numbers, booleans and strings that YAML reads back as themselves).
    public static func scalar(_ text: String, quoted: Bool = false, at location: SourceLocation = .generated) -> ConfigNode {
        ConfigNode(.scalar(text, quoted: quoted), at: location)
    }

    /// A mapping with these entries, in order.
    public static func mapping(_ entries: [(String, ConfigNode)], at location: SourceLocation = .generated) -> ConfigNode {
        ConfigNode(.mapping(entries.map { Entry(key: $0.0, keyLocation: location, node: $0.1) }), at: location)
    }

    /// This mapping with `key` set to `node` (replaced in place, or appended).
    public func setting(_ key: String, to node: ConfigNode) -> ConfigNode {
        var entries = self.entries ?? []
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].node = node
        } else {
            entries.append(Entry(key: key, keyLocation: location, node: node))
        }
        return ConfigNode(.mapping(entries), at: location)
    }

    /// This mapping with the value at `path` (keys of nested mappings) set to `node`; missing mappings are created.
    public func setting(path: [String], to node: ConfigNode) -> ConfigNode {
        guard let first = path.first else { return node }
        let child = self[first] ?? ConfigNode(.mapping([]), at: location)
        return setting(first, to: child.setting(path: Array(path.dropFirst()), to: node))
    }

    /// This mapping without `key`.
    public func removing(_ key: String) -> ConfigNode {
        ConfigNode(.mapping((entries ?? []).filter { $0.key != key }), at: location)
    }

    /// The value at `path` (keys of nested mappings), if every step exists.
    public subscript(path path: [String]) -> ConfigNode? {
        path.reduce(Optional(self)) { node, key in node?[key] }
    }
}

extension SourceLocation {
    /// Where nodes made in code come from.
    public static let generated = SourceLocation(file: "<generated>", line: 0, column: 0)
}
