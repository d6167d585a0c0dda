/// Resolves every `${...}` in a config tree before anything is built, as OmegaConf does.
///
/// A value that is exactly one interpolation takes the referenced node's type; interpolating a mapping copies
/// that subtree, so a component interpolated in two places is built twice (Modalities' warmstart configs rely
/// on this). Interpolations inside longer strings are joined as text.
public struct ConfigInterpolator {
    public var environment: ResolverEnvironment
    /// Receives notes such as "cuda_env:RANK resolved to 0 outside a launcher".
    public var log: (String) -> Void

    public init(environment: ResolverEnvironment, log: @escaping (String) -> Void = { _ in }) {
        self.environment = environment
        self.log = log
    }

    /// The tree with every interpolation replaced by its value; all problems are reported together.
    public func resolve(_ root: ConfigNode) throws -> ConfigNode {
        let (resolved, issues) = resolveKeepingGoing(root)
        try issues.throwIfErrors()
        return resolved
    }

    /// The tree with every interpolation replaced by its value, and the problems found: a value that could not be
    /// resolved becomes an unresolved node (``ConfigNode/isUnresolved``), so validation can report the config's
    /// other problems beside these.
    public func resolveKeepingGoing(_ root: ConfigNode) -> (ConfigNode, IssueCollector) {
        let run = Run(root: root, interpolator: self)
        let resolved = run.resolveTree(root, path: [])
        return (resolved, run.issues)
    }

    /// The longest string an interpolation may build (1 MiB): paths and names are far shorter, and a few lines of
    /// `"${a}${a}"` that refer to each other would otherwise ask for terabytes.
    public static let maximumStringBytes = 1 << 20

    /// One resolution pass with its cycle detection and collected issues.
    private final class Run {
        let root: ConfigNode
        let interpolator: ConfigInterpolator
        let issues = IssueCollector()
        private var inProgress: [String] = []
        private var loggedVariables: Set<String> = []
        /// Results by key path (nil for failures), so each value is resolved and reported once.
        private var finished: [String: ConfigNode?] = [:]

        init(root: ConfigNode, interpolator: ConfigInterpolator) {
            self.root = root
            self.interpolator = interpolator
        }

        /// The subtree with interpolations resolved; a value whose interpolation failed (reported once) becomes an
        /// unresolved node, and the rest of the tree is resolved all the same.
        func resolveTree(_ node: ConfigNode, path: [String]) -> ConfigNode {
            switch node.value {
            case .scalar(let text, _):
                guard InterpolationTemplate.mayContainInterpolation(text) else { return node }
                return resolveScalar(node, path: path) ?? .unresolved(at: node.location)
            case .sequence(let elements):
                let resolved = elements.enumerated().map { resolveTree($0.element, path: path + ["[\($0.offset)]"]) }
                return ConfigNode(.sequence(resolved), at: node.location)
            case .mapping(let entries):
                let resolved = entries.map { resolveTree($0.node, path: path + [$0.key]) }
                return ConfigNode(
                    .mapping(
                        zip(entries, resolved).map { entry, node in
                            ConfigNode.Entry(key: entry.key, keyLocation: entry.keyLocation, node: node)
                        }), at: node.location)
            }
        }

        /// Resolves a scalar holding interpolations; nil after reporting an issue.
        private func resolveScalar(_ node: ConfigNode, path: [String]) -> ConfigNode? {
            guard case .scalar(let text, _) = node.value else { return node }
            let keyPath = KeyPath.join(path)
            if let done = finished[keyPath] { return done }
            if inProgress.contains(keyPath) {
                issues.add(
                    .interpolation, "interpolation cycle: \((inProgress + [keyPath]).joined(separator: " -> "))",
                    at: node.location, keyPath: keyPath)
                return nil
            }
            inProgress.append(keyPath)
            defer { inProgress.removeLast() }
            let result = interpolate(text, at: node, path: path, keyPath: keyPath)
            finished[keyPath] = result
            return result
        }

        private func interpolate(_ text: String, at node: ConfigNode, path: [String], keyPath: String) -> ConfigNode? {
            let template: InterpolationTemplate
            do {
                template = try InterpolationTemplate.parse(text)
            } catch let error as InterpolationSyntaxError {
                issues.add(.interpolation, "invalid interpolation \"\(text)\": \(error.message)", at: node.location, keyPath: keyPath)
                return nil
            } catch {
                return nil
            }
            // Node paths come back fully resolved from their own place, so copied subtrees need no second pass.
            return evaluate(template, at: node, keyPath: keyPath)
        }

        private func evaluate(_ template: InterpolationTemplate, at node: ConfigNode, keyPath: String) -> ConfigNode? {
            if let sole = template.soleInterpolation {
                return evaluate(sole, at: node, keyPath: keyPath)
            }
            var text = ""
            for piece in template.pieces {
                guard let value = evaluate(piece, at: node, keyPath: keyPath), !value.isUnresolved else { return nil }
                guard let part = value.scalarText else {
                    issues.add(.interpolation, "cannot join \(value.kindDescription) into a string", at: node.location, keyPath: keyPath)
                    return nil
                }
                text += value.isNull ? "None" : part
                guard text.utf8.count <= ConfigInterpolator.maximumStringBytes else {
                    issues.add(
                        .interpolation,
                        "interpolating \(keyPath) makes a string of more than \(ConfigInterpolator.maximumStringBytes) bytes (values that repeat each other double at every step)",
                        at: node.location, keyPath: keyPath)
                    return nil
                }
            }
            return ConfigNode(.scalar(text, quoted: true), at: node.location)
        }

        private func evaluate(_ piece: InterpolationTemplate.Piece, at node: ConfigNode, keyPath: String) -> ConfigNode? {
            switch piece {
            case .literal(let text):
                return ConfigNode(.scalar(text, quoted: true), at: node.location)
            case .nodePath(let path):
                return lookup(path, from: node, keyPath: keyPath)
            case .resolver(let name, let arguments):
                var values: [ConfigNode] = []
                for argument in arguments {
                    guard let value = evaluate(argument, at: node, keyPath: keyPath, argument: true) else { return nil }
                    values.append(value)
                }
                return callResolver(name, values, at: node, keyPath: keyPath)
            }
        }

        /// A resolver argument: plain literal text keeps YAML typing (`12`, `null`), anything else as usual.
        private func evaluate(_ template: InterpolationTemplate, at node: ConfigNode, keyPath: String, argument: Bool) -> ConfigNode? {
            if template.pieces.isEmpty { return ConfigNode(.scalar("", quoted: true), at: node.location) }
            if template.isLiteral, case .literal(let text)? = template.pieces.first, template.pieces.count == 1 {
                return ConfigNode(.scalar(text, quoted: false), at: node.location)
            }
            return evaluate(template, at: node, keyPath: keyPath)
        }

        /// Walks `path` from the root, resolving interpolations met on the way.
        private func lookup(_ path: String, from node: ConfigNode, keyPath: String) -> ConfigNode? {
            guard let segments = KeyPath.split(path) else {
                issues.add(.interpolation, "invalid node path '${\(path)}'", at: node.location, keyPath: keyPath)
                return nil
            }
            var current = root
            var walked: [String] = []
            for segment in segments {
                if case .scalar(let text, _) = current.value, InterpolationTemplate.mayContainInterpolation(text) {
                    guard let resolved = resolveScalar(current, path: walked) else { return nil }
                    current = resolved
                }
                // Below a value that already failed to resolve (reported there) nothing more can be said.
                guard !current.isUnresolved else { return nil }
                let next: ConfigNode?
                switch segment {
                case .key(let key): next = current[key]
                case .index(let index):
                    if let elements = current.elements, elements.indices.contains(index) { next = elements[index] } else { next = nil }
                }
                guard let next else {
                    let parent = walked.isEmpty ? "the top level" : "'\(KeyPath.join(walked))'"
                    var message = "'${\(path)}' refers to a key that does not exist: \(segment) not found in \(parent)"
                    if case .key(let key) = segment, let suggestion = closestMatch(to: key, in: current.keys) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    issues.add(.interpolation, message, at: node.location, keyPath: keyPath)
                    return nil
                }
                walked.append(segment.description)
                current = next
            }
            // The copy keeps the locations of the values it came from, so later messages point at the source.
            return resolveTree(current, path: walked)
        }

        private func callResolver(_ name: String, _ arguments: [ConfigNode], at node: ConfigNode, keyPath: String) -> ConfigNode? {
            let environment = interpolator.environment
            func fail(_ message: String) -> ConfigNode? {
                issues.add(.interpolation, "${\(name):...}: \(message)", at: node.location, keyPath: keyPath)
                return nil
            }
            func text(_ value: String) -> ConfigNode { ConfigNode(.scalar(value, quoted: true), at: node.location) }
            func integer(_ value: Int) -> ConfigNode { ConfigNode(.scalar(String(value), quoted: false), at: node.location) }
            let strings = arguments.map { $0.scalarText ?? "" }
            switch name {
            case "modalities_env":
                switch strings.first {
                case "config_file_path": return text(environment.configFilePath)
                case "config_folder_path": return text(environment.configFolderPath)
                case "experiments_root_path": return text(environment.experimentsRootPath)
                case "experiment_id": return text(environment.experimentID)
                default:
                    return fail(
                        "unknown key '\(strings.first ?? "")'; expected config_file_path, config_folder_path, experiments_root_path or experiment_id"
                    )
                }
            case "cuda_env":
                let defaults = ["LOCAL_RANK": 0, "RANK": 0, "WORLD_SIZE": 1]
                guard let variable = strings.first, let fallback = defaults[variable] else {
                    return fail("unknown key '\(strings.first ?? "")'; expected LOCAL_RANK, RANK or WORLD_SIZE")
                }
                if let value = environment.variables[variable] {
                    guard let number = Int(value) else { return fail("environment variable \(variable)=\(value) is not an integer") }
                    return integer(number)
                }
                if loggedVariables.insert(variable).inserted {
                    interpolator.log("cuda_env:\(variable) is not set (no launcher); using \(fallback)")
                }
                return integer(fallback)
            case "node_env":
                guard strings.first == "num_cpus" else { return fail("unknown key '\(strings.first ?? "")'; expected num_cpus") }
                return integer(environment.cpuCount)
            case "warmstart_env":
                guard strings.first == "checkpoint_paths" else {
                    return fail("unknown key '\(strings.first ?? "")'; expected checkpoint_paths")
                }
                guard let paths = environment.warmstartCheckpointPaths else {
                    return fail("checkpoint_paths is only available under warmstart (modalities warmstart ...)")
                }
                guard !paths.isEmpty else {
                    return fail(
                        "checkpoint_paths come from a last_checkpoint_info.json: give its path with --last_checkpoint_info_file_path (config validate takes it too)"
                    )
                }
                let entries = paths.map { ConfigNode.Entry(key: $0.key, keyLocation: node.location, node: text($0.value)) }
                return ConfigNode(.mapping(entries), at: node.location)
            case "oc.env", "env":
                guard let variable = strings.first, !variable.isEmpty else { return fail("needs a variable name") }
                if let value = environment.variables[variable] { return text(value) }
                if arguments.count > 1 { return arguments[1] }
                return fail("environment variable \(variable) is not set and no default is given")
            case "oc.decode":
                guard arguments.count == 1, let source = arguments[0].scalarText else { return fail("needs exactly one string") }
                do {
                    let decoded = try ConfigLoader.parse(source, file: node.location.file)
                    return relocated(decoded, to: node.location)
                } catch {
                    return fail("cannot decode '\(source)': \(error)")
                }
            default:
                let known = ["modalities_env", "cuda_env", "node_env", "warmstart_env", "oc.env", "oc.decode", "env"]
                var message = "unknown resolver '\(name)'; known resolvers: \(known.joined(separator: ", "))"
                if let suggestion = closestMatch(to: name, in: known) { message += "; did you mean '\(suggestion)'?" }
                issues.add(.interpolation, message, at: node.location, keyPath: keyPath)
                return nil
            }
        }

        private func relocated(_ node: ConfigNode, to location: SourceLocation) -> ConfigNode {
            switch node.value {
            case .scalar: return ConfigNode(node.value, at: location)
            case .sequence(let elements): return ConfigNode(.sequence(elements.map { relocated($0, to: location) }), at: location)
            case .mapping(let entries):
                return ConfigNode(
                    .mapping(
                        entries.map {
                            ConfigNode.Entry(key: $0.key, keyLocation: location, node: relocated($0.node, to: location))
                        }), at: location)
            }
        }
    }
}
