import Config
import Foundation

/// A sweep file: a Modalities config with a top-level `sweep:` block whose lists are the values to try
/// (`benchmark prepare_sweep_configs`). The rest of the config reads them as `${sweep.<key>}`.
///
/// Every list under `sweep` is an axis and the points are their cartesian product, as in Modalities (to try list
/// values, give a list of lists). An optional top-level `paired: [[a, b], ...]` names axes (dotted paths under
/// `sweep`) that vary together, zipped instead of multiplied; they must have equal lengths.
public struct SweepDefinition {
    /// One value of every swept key.
    public struct Point {
        /// The readable name of the point: the varied keys and their values (`lr-0.001__n_layer-2`).
        public var name: String
        /// Each swept key (path under `sweep`) and its value here.
        public var values: [(path: [String], value: ConfigNode)]
        /// The config of this point: `sweep` with single values first, then the rest of the file.
        public var config: ConfigNode
    }

    /// Keys under `sweep` that take more than one value, with the values of each point.
    struct Axis {
        var paths: [[String]]
        /// values[i][j]: the value of paths[j] at step i of the axis.
        var values: [[ConfigNode]]
    }

    public let file: String
    /// The file without `sweep` and `paired`.
    let base: ConfigNode
    let sweep: ConfigNode
    /// Every leaf under `sweep` (lists are alternatives; a leaf that is no list is one fixed value).
    let leaves: [(path: [String], values: [ConfigNode])]
    let axes: [Axis]

    public init(file: String) throws {
        let root = try ConfigLoader.load(file: file)
        try self.init(root, file: file)
    }

    public init(_ root: ConfigNode, file: String) throws {
        self.file = file
        guard let sweep = root["sweep"], sweep.entries != nil else {
            throw SweepError.invalid(file, "has no top-level `sweep:` mapping of the values to try")
        }
        self.sweep = sweep
        base = root.removing("sweep").removing("paired")
        var leaves: [(path: [String], values: [ConfigNode])] = []
        func collect(_ node: ConfigNode, _ path: [String]) {
            switch node.value {
            case .mapping(let entries) where !entries.isEmpty:
                for entry in entries { collect(entry.node, path + [entry.key]) }
            case .sequence(let elements):
                leaves.append((path, elements))
            default:
                leaves.append((path, [node]))
            }
        }
        collect(sweep, [])
        for leaf in leaves where leaf.values.isEmpty {
            throw SweepError.invalid(file, "sweep.\(leaf.path.joined(separator: ".")) is an empty list: nothing to try")
        }
        self.leaves = leaves

        var groups: [[[String]]] = []
        if let paired = root["paired"] {
            guard let lists = paired.elements, lists.allSatisfy({ $0.elements != nil }) else {
                throw SweepError.invalid(file, "paired must be a list of lists of keys under sweep, e.g. [[lr, warmup_steps]]")
            }
            for list in lists {
                let paths = list.elements!.compactMap(\.scalarText).map { $0.split(separator: ".").map(String.init) }
                for path in paths where !leaves.contains(where: { $0.path == path }) {
                    throw SweepError.invalid(file, "paired names sweep.\(path.joined(separator: ".")), which is not a key under sweep")
                }
                let lengths = Set(paths.map { path in leaves.first { $0.path == path }!.values.count })
                guard lengths.count == 1 else {
                    throw SweepError.invalid(
                        file, "paired keys \(paths.map { $0.joined(separator: ".") }) have lists of different lengths \(lengths.sorted())")
                }
                groups.append(paths)
            }
        }
        var axes: [Axis] = []
        var grouped = Set<[String]>()
        for leaf in leaves where leaf.values.count > 1 && !grouped.contains(leaf.path) {
            if let group = groups.first(where: { $0.contains(leaf.path) }) {
                let lists = group.map { path in leaves.first { $0.path == path }!.values }
                axes.append(Axis(paths: group, values: lists[0].indices.map { index in lists.map { $0[index] } }))
                grouped.formUnion(group)
            } else {
                axes.append(Axis(paths: [leaf.path], values: leaf.values.map { [$0] }))
            }
        }
        self.axes = axes
    }

    /// The swept keys that vary, as dotted paths under `sweep`.
    public var variedKeys: [String] { axes.flatMap { $0.paths.map { $0.joined(separator: ".") } } }

    /// Every point, in the order of the axes (the last axis varies fastest).
    public func points() throws -> [Point] {
        var combinations: [[Int]] = [[]]
        for axis in axes {
            combinations = combinations.flatMap { prefix in axis.values.indices.map { prefix + [$0] } }
        }
        let labels = Self.shortLabels(axes.flatMap(\.paths))
        var points: [Point] = []
        for combination in combinations {
            var chosen: [[String]: ConfigNode] = [:]
            for leaf in leaves where leaf.values.count == 1 { chosen[leaf.path] = leaf.values[0] }
            var nameParts: [String] = []
            for (axis, index) in zip(axes, combination) {
                for (path, value) in zip(axis.paths, axis.values[index]) {
                    chosen[path] = value
                    nameParts.append(labels[path]! + "-" + Self.nameText(value))
                }
            }
            var sweepNode = sweep
            for leaf in leaves { sweepNode = sweepNode.setting(path: leaf.path, to: chosen[leaf.path]!) }
            let config = ConfigNode.mapping([("sweep", sweepNode)] + (base.entries ?? []).map { ($0.key, $0.node) }, at: base.location)
            points.append(
                Point(
                    name: nameParts.isEmpty ? "default" : nameParts.joined(separator: "__"),
                    values: leaves.map { ($0.path, chosen[$0.path]!) }, config: config))
        }
        // Names must tell the points apart; values that read the same after cleaning get a short hash.
        let counts = Dictionary(grouping: points.indices, by: { points[$0].name })
        for (_, indices) in counts where indices.count > 1 {
            for index in indices { points[index].name += "_" + String(StableHash.hex(ConfigEmitter.yaml(points[index].config)).prefix(8)) }
        }
        return points
    }

    /// The shortest suffix of each path that no other path ends with (`optimizer.lr` → `lr`).
    static func shortLabels(_ paths: [[String]]) -> [[String]: String] {
        var labels: [[String]: String] = [:]
        for path in paths {
            var length = 1
            while length < path.count, paths.contains(where: { $0 != path && $0.suffix(length) == path.suffix(length) }) { length += 1 }
            labels[path] = path.suffix(length).joined(separator: ".")
        }
        return labels
    }

    /// A value as it appears in a folder name: letters, digits and `.+-`; lists joined by `x`.
    static func nameText(_ node: ConfigNode) -> String {
        let raw: String
        switch node.value {
        case .scalar(let text, _): raw = text
        case .sequence(let elements): raw = elements.map(nameText).joined(separator: "x")
        case .mapping: raw = String(StableHash.hex(ConfigEmitter.yaml(node)).prefix(8))
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-")
        let cleaned = String(raw.map { allowed.contains($0) ? $0 : "-" })
        return cleaned.isEmpty ? "empty" : cleaned
    }
}

/// A sweep, run or report that cannot go on, naming the file or folder.
public enum SweepError: Error, CustomStringConvertible, Equatable {
    case invalid(String, String)

    public var description: String {
        switch self {
        case let .invalid(path, reason): return "\(path): \(reason)"
        }
    }
}

/// FNV-1a over UTF-8, as 16 hex digits: a short hash that is the same on every machine and run.
enum StableHash {
    static func hex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(format: "%016llx", hash)
    }
}
