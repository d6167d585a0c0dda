/// Who uses whom in a config, read from its structure alone (no component needs to be built or even known):
/// references name top-level keys, inline components are contained where they stand.
public struct ComponentEdges {
    /// One declared component.
    public struct Node: Hashable, Sendable {
        /// The top-level key, or the key path of an inline component.
        public var keyPath: String
        /// `component_key/variant_key`.
        public var component: String

        public var label: String { "\(keyPath) (\(component))" }
    }

    /// An edge from a component to one it uses by reference or contains inline.
    public struct Edge: Hashable, Sendable {
        public var from: Node
        public var to: Node
        public var byReference: Bool
    }

    public private(set) var topLevel: [Node] = []
    public private(set) var edges: [Edge] = []

    /// Reads the edges of a resolved config.
    public init(_ root: ConfigNode) {
        var nodes: [String: Node] = [:]
        for entry in root.entries ?? [] {
            if let component = ComponentNode(entry.node) {
                nodes[entry.key] = Node(keyPath: entry.key, component: "\(component.componentKey)/\(component.variantKey)")
            }
        }
        topLevel = (root.entries ?? []).compactMap { nodes[$0.key] }
        for entry in root.entries ?? [] {
            guard let owner = nodes[entry.key], let component = ComponentNode(entry.node) else { continue }
            collect(component.config, path: entry.key + ".config", owner: owner, topLevel: nodes, root: root)
        }
    }

    private mutating func collect(_ node: ConfigNode, path: String, owner: Node, topLevel: [String: Node], root: ConfigNode) {
        if let reference = ReferenceNode(node) {
            if let target = topLevel[reference.instanceKey] {
                edges.append(Edge(from: owner, to: target, byReference: true))
            } else if let list = root[reference.instanceKey]?.elements {
                // A reference to a top-level list (eval_dataloaders) uses each component the list names.
                for element in list {
                    if let inner = ReferenceNode(element), let target = topLevel[inner.instanceKey] {
                        edges.append(Edge(from: owner, to: target, byReference: true))
                    }
                }
            }
            return
        }
        if let component = ComponentNode(node) {
            let inline = Node(keyPath: path, component: "\(component.componentKey)/\(component.variantKey)")
            edges.append(Edge(from: owner, to: inline, byReference: false))
            collect(component.config, path: path + ".config", owner: inline, topLevel: topLevel, root: root)
            return
        }
        switch node.value {
        case .scalar: return
        case .sequence(let elements):
            for (index, element) in elements.enumerated() {
                collect(element, path: path + "[\(index)]", owner: owner, topLevel: topLevel, root: root)
            }
        case .mapping(let entries):
            for entry in entries { collect(entry.node, path: path + "." + entry.key, owner: owner, topLevel: topLevel, root: root) }
        }
    }
}
