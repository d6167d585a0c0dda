extension ObjectGraph {
    /// Decodes the plain (non-component) top-level block `key`, such as a command's `settings`; components
    /// inside it are built. Unknown keys are reported too.
    /// - Throws: ``ConfigError`` with every problem found in the block.
    public func decode<T: Decodable>(_ type: T.Type, key: String) throws -> T {
        guard let node = root[key] else {
            throw ConfigError(ConfigIssue(.missingKey, "missing required top-level key '\(key)'", at: root.location, keyPath: key))
        }
        let value = decode(type, from: node, keyPath: key)
        flushUnknownKeys()
        try issues.throwIfErrors()
        guard let value else { throw ConfigError(problems) }
        return value
    }

    /// Decodes a plain (non-component) block such as `settings`, recording problems; nil when it has errors.
    public func decode<T: Decodable>(_ type: T.Type, from node: ConfigNode, keyPath: String) -> T? {
        let decoder = ConfigDecoder(node: node, keyPath: keyPath, graph: self)
        do {
            return try decoder.decode(type, from: node, keyPath: keyPath, codingPath: [])
        } catch {
            return nil
        }
    }
}
