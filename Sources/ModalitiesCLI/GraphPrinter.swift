import Config

/// Renders who-uses-whom of a config as text, Graphviz dot or Mermaid.
struct GraphPrinter {
    let edges: ComponentEdges

    func render(_ format: String) -> String {
        switch format {
        case "dot":
            var text = "digraph config {\n  rankdir=LR;\n"
            for node in edges.topLevel { text += "  \(quoted(node.label));\n" }
            for edge in edges.edges {
                text += "  \(quoted(edge.from.label)) -> \(quoted(edge.to.label))\(edge.byReference ? "" : " [style=dashed]");\n"
            }
            return text + "}\n"
        case "mermaid":
            var ids: [String: String] = [:]
            func node(_ label: String) -> String {
                let id = ids[label] ?? "n\(ids.count)"
                ids[label] = id
                return "\(id)[\"\(label)\"]"
            }
            var text = "graph LR\n"
            for top in edges.topLevel { text += "  \(node(top.label))\n" }
            for edge in edges.edges {
                text += "  \(node(edge.from.label)) \(edge.byReference ? "-->" : "-.->") \(node(edge.to.label))\n"
            }
            return text
        default:
            var text = ""
            var owners = edges.topLevel
            var index = 0
            while index < owners.count {
                let owner = owners[index]
                let outgoing = edges.edges.filter { $0.from == owner }
                if index < edges.topLevel.count || !outgoing.isEmpty {
                    text += owner.label + "\n"
                    for edge in outgoing {
                        text += "  \(edge.byReference ? "uses" : "contains") \(edge.to.label)\n"
                        if !edge.byReference { owners.append(edge.to) }
                    }
                }
                index += 1
            }
            return text
        }
    }

    private func quoted(_ text: String) -> String { "\"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"" }
}
