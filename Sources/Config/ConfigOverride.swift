/// One `key.path=value` override of a loaded config (OmegaConf's dot-list form, as Hydra's command lines write
/// them): the value is read as YAML (`12`, `null`, `[3, 16, 16]`, `${settings.x}`) and replaces the node at the
/// path before interpolation, so the file on disk stays as it is and references to the key see the new value. As
/// in Hydra, the key must exist, or be written `+key.path=value` to add it (its parent must exist).
public struct ConfigOverride: Sendable, Equatable, CustomStringConvertible {
    /// Keys of nested mappings, outermost first.
    public let path: [String]
    /// The value as written after `=`.
    public let value: String
    /// Whether the last key may be new (`+key.path=value`).
    public let adds: Bool

    /// Parses `a.b.c=value`; throws naming the argument when it has no `=` or an empty key.
    public init(_ argument: String) throws {
        guard let equals = argument.firstIndex(of: "=") else {
            throw ConfigValueError("override '\(argument)' is not of the form key.path=value")
        }
        var key = argument[..<equals]
        adds = key.hasPrefix("+")
        if adds { key = key.dropFirst() }
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            throw ConfigValueError("override '\(argument)' names an empty key (key.path=value, keys separated by dots)")
        }
        self.path = path
        value = String(argument[argument.index(after: equals)...])
    }

    public var description: String { (adds ? "+" : "") + path.joined(separator: ".") + "=" + value }

    /// `root` with the value at this override's path replaced (keys of mappings, or indices of lists); throws when a
    /// key on the way is missing (a typo would otherwise add a key the config never reads) or the value is not YAML.
    public func applied(to root: ConfigNode) throws -> ConfigNode {
        let node = try ConfigLoader.parse(value, file: "override \(path.joined(separator: "."))")
        return try replacing(in: root, at: path[...], with: node)
    }

    private func replacing(in node: ConfigNode, at path: ArraySlice<String>, with value: ConfigNode) throws -> ConfigNode {
        guard let key = path.first else { return value }
        let walked = path.startIndex == self.path.startIndex ? "the config" : "'\(self.path[..<path.startIndex].joined(separator: "."))'"
        if let elements = node.elements {
            guard let index = Int(key), elements.indices.contains(index) else {
                throw ConfigValueError("override '\(self)': \(walked) is a list of \(elements.count); '\(key)' is not an index of it")
            }
            var replaced = elements
            replaced[index] = try replacing(in: elements[index], at: path.dropFirst(), with: value)
            return ConfigNode(.sequence(replaced), at: node.location)
        }
        if adds, path.count == 1, node.entries != nil, node[key] == nil { return node.setting(key, to: value) }
        guard let child = node[key] else {
            let keys = (node.entries ?? []).map(\.key)
            throw ConfigValueError(
                "override '\(self)': \(walked) has no key '\(key)' (keys: \(keys.joined(separator: ", "))); write +\(self.path.joined(separator: "."))=… to add one"
            )
        }
        return node.setting(key, to: try replacing(in: child, at: path.dropFirst(), with: value))
    }
}
