/// A config field holding a list of components: written inline as a list, or as a reference to a top-level list
/// (Modalities' `eval_dataloaders: {instance_key: eval_dataloaders, pass_type: BY_REFERENCE}`).
public struct ComponentListSlot<Interface>: Decodable {
    /// Nil only when decoded by the schema reader that lists config fields.
    let definitions: [ComponentDefinition]?

    public init(from decoder: Decoder) throws {
        guard let configDecoder = decoder as? ConfigDecoder else {
            guard decoder is SchemaDecoder else {
                throw DecodingError.typeMismatch(
                    ComponentListSlot.self,
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "component slots decode only from configs"))
            }
            definitions = nil
            return
        }
        definitions = try configDecoder.graph.listDefinitions(
            for: configDecoder.node, keyPath: configDecoder.keyPath, interface: Interface.self)
    }

    /// Number of components in the list.
    public var count: Int { definitions?.count ?? 0 }
}

extension ComponentListSlot: ConfigPlaceholder {
    static var placeholder: Any { ComponentListSlot(definitions: nil) }

    private init(definitions: [ComponentDefinition]?) { self.definitions = definitions }
}

extension BuildContext {
    /// Builds every component of a list slot, in order.
    public func build<Interface>(_ slot: ComponentListSlot<Interface>) throws -> [Interface] {
        guard let definitions = slot.definitions else {
            throw ConfigValueError("a component slot read without a config cannot be built")
        }
        return try definitions.map { try graph.instance(of: $0, as: Interface.self) }
    }
}

extension ObjectGraph {
    /// The definitions of a list node, or of the top-level list a reference names.
    func listDefinitions(for node: ConfigNode, keyPath: String, interface: Any.Type) throws -> [ComponentDefinition] {
        var list = node
        var listPath = keyPath
        if let reference = ReferenceNode(node) {
            list = try referenceTarget(reference, keyPath: keyPath)
            listPath = reference.instanceKey
        }
        guard case .sequence(let elements) = list.value else {
            throw abort(
                .wrongType, "expected a list of components or a reference to one, found \(list.kindDescription)",
                at: list.location, keyPath: listPath)
        }
        return try elements.enumerated().map { index, element in
            try definition(for: element, keyPath: listPath + "[\(index)]", interface: interface)
        }
    }

    /// Builds (once each) the components of the top-level list at `key`, e.g. `eval_dataloaders`.
    public func buildList<Interface>(_ key: String, as interface: Interface.Type) throws -> [Interface] {
        guard let node = root[key] else {
            throw ConfigError(ConfigIssue(.missingKey, "missing required top-level key '\(key)'", at: root.location, keyPath: key))
        }
        let definitions: [ComponentDefinition]
        do {
            definitions = try listDefinitions(for: node, keyPath: key, interface: interface)
        } catch {
            flushUnknownKeys()
            throw ConfigError(issues.issues)
        }
        flushUnknownKeys()
        try issues.throwIfErrors()
        return try definitions.map { try instance(of: $0, as: interface) }
    }
}
