import Config

/// Renders who-references-whom of a validated config.
struct GraphPrinter {
    let graph: ObjectGraph

    func render(_ format: String) -> String {
        let edges = graph.edges()
        switch format {
        case "dot":
            var text = "digraph config {\n  rankdir=LR;\n"
            for node in graph.topLevelComponents { text += "  \(quoted(node));\n" }
            for edge in edges {
                text += "  \(quoted(edge.from)) -> \(quoted(edge.to))\(edge.byReference ? "" : " [style=dashed]");\n"
            }
            return text + "}\n"
        case "mermaid":
            var names: [String: String] = [:]
            func id(_ label: String) -> String {
                if let existing = names[label] { return existing }
                let made = "n\(names.count)"
                names[label] = made
                return made
            }
            var text = "graph LR\n"
            for node in graph.topLevelComponents { text += "  \(id(node))[\"\(node)\"]\n" }
            for edge in edges {
                text += "  \(id(edge.from))[\"\(edge.from)\"] \(edge.byReference ? "-->" : "-.->") \(id(edge.to))[\"\(edge.to)\"]\n"
            }
            return text
        default:
            var text = ""
            for node in graph.topLevelComponents {
                text += node + "\n"
                for edge in edges where edge.from == node {
                    text += "  \(edge.byReference ? "uses" : "contains") \(edge.to)\n"
                }
            }
            return text
        }
    }

    private func quoted(_ text: String) -> String { "\"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"" }
}
