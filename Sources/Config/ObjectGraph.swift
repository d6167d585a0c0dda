/// One component declared in a config: where, which variant, its decoded config and the components it uses.
final class ComponentDefinition {
    let spec: ComponentSpec
    let location: SourceLocation
    let keyPath: String
    /// The top-level key when declared at the top level (references share this definition).
    let topLevelKey: String?
    var config: Any = ()
    /// Whether decoding the config recorded a problem (stand-ins fill its values): building it would only report
    /// follow-on failures of those stand-ins.
    var configHasProblems = false

    init(spec: ComponentSpec, location: SourceLocation, keyPath: String, topLevelKey: String?) {
        self.spec = spec
        self.location = location
        self.keyPath = keyPath
        self.topLevelKey = topLevelKey
    }
}

/// Records which keys of a mapping a config type asked for, to report the others as unknown.
final class KeyTracker {
    let node: ConfigNode
    let entries: [ConfigNode.Entry]
    let keyPath: String
    var accessed: Set<String> = []
    var aborted = false

    init(node: ConfigNode, entries: [ConfigNode.Entry], keyPath: String) {
        self.node = node
        self.entries = entries
        self.keyPath = keyPath
    }
}

/// The validated object graph of a resolved config: every component's config decoded and checked, references
/// linked, and instances built on demand (references are singletons, inline components are built where used).
public final class ObjectGraph {
    public let root: ConfigNode
    public let registry: ComponentRegistry
    /// Every problem found so far, as it is collected; factories and validators add theirs here.
    public let issues = IssueCollector()
    /// Values read that were unknown because their interpolation failed (reported by the interpolator).
    var unknownValuesRead = 0

    private var topLevel: [String: ComponentDefinition] = [:]
    /// Top-level keys whose definition failed; their problems are reported once.
    private var failedTopLevel: Set<String> = []
    private var inProgress: [String] = []
    private var trackers: [KeyTracker] = []
    private var instances: [ObjectIdentifier: Any] = [:]
    private var building: Set<ObjectIdentifier> = []

    /// What the factories may read about where the graph is built (see ``BuildEnvironment``).
    public let environment: BuildEnvironment

    /// Makes the graph of a resolved config tree (see ``ConfigInterpolator``).
    public init(root: ConfigNode, registry: ComponentRegistry, environment: BuildEnvironment = BuildEnvironment()) {
        self.root = root
        self.registry = registry
        self.environment = environment
    }

    /// Every problem found so far (errors and warnings).
    public var problems: [ConfigIssue] { issues.issues }

    // MARK: Validation

    /// Validates the components under `keys` (all top-level keys when nil) and throws every problem at once.
    public func validate(keys: [String]? = nil) throws {
        let keys = keys ?? root.keys
        for key in keys {
            guard let node = root[key] else {
                let location = root.location
                var message = "missing required top-level key '\(key)'"
                if let suggestion = closestMatch(to: key, in: root.keys) { message += "; did you mean '\(suggestion)'?" }
                issues.add(.missingKey, message, at: location, keyPath: key)
                continue
            }
            validateSubtree(node, keyPath: key)
        }
        reportUnknownKeys()
        try issues.throwIfErrors()
    }

    /// Validates the component at top-level `key` as `Interface`, then checks the rest of the graph.
    public func validate<Interface>(_ key: String, as interface: Interface.Type) {
        guard let node = root[key] else {
            issues.add(.missingKey, "missing required top-level key '\(key)'", at: root.location, keyPath: key)
            return
        }
        _ = try? definition(for: node, keyPath: key, interface: interface)
    }

    /// Finds components anywhere under `node` (settings blocks hold them too) and validates each.
    private func validateSubtree(_ node: ConfigNode, keyPath: String) {
        if let reference = ReferenceNode(node) {
            // A reference may name a list (Modalities' eval_dataloaders); that list is validated where it stands.
            guard let target = try? referenceTarget(reference, keyPath: keyPath) else { return }
            if ComponentNode(target) != nil || ReferenceNode(target) != nil {
                _ = try? definition(for: node, keyPath: keyPath, interface: Any.self)
            }
            return
        }
        if ComponentNode(node) != nil {
            _ = try? definition(for: node, keyPath: keyPath, interface: Any.self)
            return
        }
        switch node.value {
        case .scalar: return
        case .sequence(let elements):
            for (index, element) in elements.enumerated() { validateSubtree(element, keyPath: keyPath + "[\(index)]") }
        case .mapping(let entries):
            for entry in entries { validateSubtree(entry.node, keyPath: childPath(keyPath, entry.key)) }
        }
    }

    /// Reports the unknown keys of every mapping decoded so far.
    /// Reports the keys no decoder asked for so far (after decoding a plain block outside ``validate(keys:)``).
    public func flushUnknownKeys() { reportUnknownKeys() }

    private func reportUnknownKeys() {
        // A type may read one mapping through several containers (shared fields, then its own): a key is
        // unknown only when none of them asked for it.
        var byMapping: [String: (tracker: KeyTracker, accessed: Set<String>, aborted: Bool)] = [:]
        var order: [String] = []
        for tracker in trackers {
            let id = "\(tracker.node.location)|\(tracker.keyPath)"
            if var merged = byMapping[id] {
                merged.accessed.formUnion(tracker.accessed)
                merged.aborted = merged.aborted || tracker.aborted
                byMapping[id] = merged
            } else {
                byMapping[id] = (tracker, tracker.accessed, tracker.aborted)
                order.append(id)
            }
        }
        for id in order {
            let (tracker, accessed, aborted) = byMapping[id]!
            guard !aborted else { continue }
            let known = Array(accessed)
            for entry in tracker.entries where !accessed.contains(entry.key) {
                var message = "unknown key '\(entry.key)'"
                if let suggestion = closestMatch(to: entry.key, in: known) { message += "; did you mean '\(suggestion)'?" }
                // Modalities' training settings model ignores keys it does not declare (configs keep their own
                // blocks there, as config_example_coca.yaml does): a warning, not an error.
                let ignoredByModalities = tracker.keyPath == "settings"
                if ignoredByModalities { message += " (Modalities ignores it; so does this run)" }
                issues.add(
                    ConfigIssue(
                        .unknownKey, message, at: entry.keyLocation, keyPath: childPath(tracker.keyPath, entry.key),
                        severity: ignoredByModalities ? .warning : .error))
            }
        }
        trackers.removeAll()
    }

    /// Marks the mapping at `keyPath` as read only in part: a check threw before its type asked for every key.
    func markAborted(_ node: ConfigNode, keyPath: String) {
        for tracker in trackers where tracker.keyPath == keyPath && tracker.node.location == node.location { tracker.aborted = true }
    }

    func trackKeys(of node: ConfigNode, entries: [ConfigNode.Entry], keyPath: String) -> KeyTracker {
        let tracker = KeyTracker(node: node, entries: entries, keyPath: keyPath)
        trackers.append(tracker)
        return tracker
    }

    func abort(_ kind: ConfigIssue.Kind, _ message: String, at location: SourceLocation, keyPath: String) -> ConfigAbort {
        abort(ConfigIssue(kind, message, at: location, keyPath: keyPath))
    }

    func abort(_ issue: ConfigIssue) -> ConfigAbort {
        issues.add(issue)
        return ConfigAbort()
    }

    // MARK: Definitions

    /// The definition behind a component or reference node, checked to fill `interface`.
    func definition(for node: ConfigNode, keyPath: String, interface: Any.Type) throws -> ComponentDefinition {
        let definition: ComponentDefinition
        if let reference = ReferenceNode(node) {
            definition = try resolveReference(reference, keyPath: keyPath)
        } else if let component = ComponentNode(node) {
            definition = try define(
                component, keyPath: keyPath, topLevelKey: keyPath.contains(".") || keyPath.contains("[") ? nil : keyPath)
        } else {
            throw abort(
                .wrongType,
                "expected a component (component_key, variant_key, config) or a reference (instance_key, pass_type), found \(node.kindDescription)",
                at: node.location, keyPath: keyPath)
        }
        guard definition.spec.produces(interface) else {
            let offered = definition.spec.interfaceNames.joined(separator: ", ")
            throw abort(
                .interfaceMismatch, "\(definition.spec.name) gives \(offered), but this slot needs \(String(describing: interface))",
                at: node.location, keyPath: keyPath)
        }
        return definition
    }

    /// The top-level node a reference names, after checking its pass type and that the key exists.
    func referenceTarget(_ reference: ReferenceNode, keyPath: String) throws -> ConfigNode {
        guard reference.passType == "BY_REFERENCE" else {
            throw abort(
                .unsupportedPassType, "pass_type '\(reference.passType)' is not supported; only BY_REFERENCE is",
                at: reference.node["pass_type"]?.location ?? reference.node.location, keyPath: childPath(keyPath, "pass_type"))
        }
        let key = reference.instanceKey
        guard let target = root[key] else {
            var message = "instance_key '\(key)' refers to a top-level key that does not exist"
            if let suggestion = closestMatch(to: key, in: root.keys) { message += "; did you mean '\(suggestion)'?" }
            throw abort(
                .unknownReference, message, at: reference.node["instance_key"]?.location ?? reference.node.location,
                keyPath: childPath(keyPath, "instance_key"))
        }
        return target
    }

    private func resolveReference(_ reference: ReferenceNode, keyPath: String) throws -> ComponentDefinition {
        let key = reference.instanceKey
        if let existing = topLevel[key] { return existing }
        let target = try referenceTarget(reference, keyPath: keyPath)
        if inProgress.contains(key) {
            let cycle = (inProgress.drop { $0 != key } + [key]).joined(separator: " -> ")
            throw abort(.referenceCycle, "reference cycle: \(cycle)", at: reference.node.location, keyPath: keyPath)
        }
        guard ComponentNode(target) != nil || ReferenceNode(target) != nil else {
            throw abort(
                .wrongType, "instance_key '\(key)' refers to \(target.kindDescription), not a component",
                at: reference.node.location, keyPath: keyPath)
        }
        return try definition(for: target, keyPath: key, interface: Any.self)
    }

    private func define(_ component: ComponentNode, keyPath: String, topLevelKey: String?) throws -> ComponentDefinition {
        if let topLevelKey, let existing = topLevel[topLevelKey] { return existing }
        if let topLevelKey, failedTopLevel.contains(topLevelKey) { throw ConfigAbort() }
        do {
            return try defineOnce(component, keyPath: keyPath, topLevelKey: topLevelKey)
        } catch {
            if let topLevelKey { failedTopLevel.insert(topLevelKey) }
            throw error
        }
    }

    private func defineOnce(_ component: ComponentNode, keyPath: String, topLevelKey: String?) throws -> ComponentDefinition {
        let node = component.node
        for entry in node.entries ?? [] where !["component_key", "variant_key", "config"].contains(entry.key) {
            issues.add(
                .malformedComponent, "unknown key '\(entry.key)' in a component; a component has component_key, variant_key and config",
                at: entry.keyLocation, keyPath: childPath(keyPath, entry.key))
        }
        guard node["variant_key"] != nil else {
            throw abort(
                .malformedComponent, "component '\(component.componentKey)' has no variant_key", at: node.location, keyPath: keyPath)
        }
        guard let spec = registry.spec(component.componentKey, component.variantKey) else {
            throw unknownComponent(component, keyPath: keyPath)
        }
        if case .planned(let feature) = spec.availability {
            throw abort(
                .componentNotBuilt, "\(spec.name) is not available yet: it needs \(feature)",
                at: node["variant_key"]?.location ?? node.location, keyPath: childPath(keyPath, "variant_key"))
        }
        let definition = ComponentDefinition(spec: spec, location: node.location, keyPath: keyPath, topLevelKey: topLevelKey)
        if let topLevelKey { inProgress.append(topLevelKey) }
        defer { if topLevelKey != nil { inProgress.removeLast() } }
        let configPath = childPath(keyPath, "config")
        let (problemsBefore, unknownBefore) = (issues.count, unknownValuesRead)
        defer { definition.configHasProblems = issues.count > problemsBefore || unknownValuesRead > unknownBefore }
        do {
            definition.config = try spec.decodeConfig(ConfigDecoder(node: component.config, keyPath: configPath, graph: self))
        } catch is ConfigAbort {
            throw ConfigAbort()
        } catch let error as DecodingError {
            markAborted(component.config, keyPath: configPath)
            throw abort(.invalidValue, describe(error), at: component.config.location, keyPath: configPath)
        } catch {
            // A check that threw before every key was read: the keys it did not reach are not unknown.
            markAborted(component.config, keyPath: configPath)
            throw abort(.invalidValue, "\(error)", at: component.config.location, keyPath: configPath)
        }
        if let topLevelKey { topLevel[topLevelKey] = definition }
        return definition
    }

    private func unknownComponent(_ component: ComponentNode, keyPath: String) -> ConfigAbort {
        let node = component.node
        let variants = registry.variants(of: component.componentKey)
        if variants.isEmpty {
            var message = "unknown component_key '\(component.componentKey)'"
            if let suggestion = closestMatch(to: component.componentKey, in: registry.componentKeys) {
                message += "; did you mean '\(suggestion)'?"
            }
            return abort(
                .unknownComponent, message, at: node["component_key"]?.location ?? node.location,
                keyPath: childPath(keyPath, "component_key"))
        }
        var message =
            "unknown variant_key '\(component.variantKey)' for component_key '\(component.componentKey)'; valid variants: "
            + variants.map(\.variantKey).joined(separator: ", ")
        if let suggestion = closestMatch(to: component.variantKey, in: variants.map(\.variantKey)) {
            message += "; did you mean '\(suggestion)'?"
        }
        return abort(
            .unknownComponent, message, at: node["variant_key"]?.location ?? node.location, keyPath: childPath(keyPath, "variant_key"))
    }

    private func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            return context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    // MARK: Building

    /// Builds (once) the component at top-level `key` as `Interface`, validating the whole graph under it first.
    public func build<Interface>(_ key: String, as interface: Interface.Type) throws -> Interface {
        guard let node = root[key] else {
            throw ConfigError(ConfigIssue(.missingKey, "missing required top-level key '\(key)'", at: root.location, keyPath: key))
        }
        let definition: ComponentDefinition
        do {
            definition = try self.definition(for: node, keyPath: key, interface: interface)
        } catch {
            reportUnknownKeys()
            throw ConfigError(issues.issues)
        }
        reportUnknownKeys()
        try issues.throwIfErrors()
        return try instance(of: definition, as: interface)
    }

    /// Builds the component written at `keyPath` inside the config (a settings block's `settings.debugging`) as
    /// `Interface`; the components it references are the graph's shared instances.
    public func build<Interface>(_ node: ConfigNode, at keyPath: String, as interface: Interface.Type) throws -> Interface {
        let definition: ComponentDefinition
        do {
            definition = try self.definition(for: node, keyPath: keyPath, interface: interface)
        } catch {
            throw ConfigError(issues.issues)
        }
        try issues.throwIfErrors()
        return try instance(of: definition, as: interface)
    }

    /// Builds a value component met where a plain value is expected (a number conversion giving an int).
    func eagerValue<T>(of node: ConfigNode, keyPath: String, as type: T.Type) throws -> T {
        let definition = try self.definition(for: node, keyPath: keyPath, interface: Any.self)
        guard definition.spec.produces(type) else {
            let offered = definition.spec.interfaceNames.joined(separator: ", ")
            throw abort(
                .wrongType, "expected \(valueDescription(type)), found \(definition.spec.name), which gives \(offered)",
                at: node.location, keyPath: keyPath)
        }
        // A value built from stand-ins for reported problems would only add a follow-on failure.
        guard !definition.configHasProblems else { throw ConfigAbort() }
        do {
            return try instance(of: definition, as: type)
        } catch let error as ComponentBuildError {
            throw abort(.invalidValue, "\(error.component) failed: \(error.message)", at: node.location, keyPath: keyPath)
        }
    }

    func instance<Interface>(of definition: ComponentDefinition, as interface: Interface.Type) throws -> Interface {
        let id = ObjectIdentifier(definition)
        if let existing = instances[id] { return try cast(existing, definition) }
        guard building.insert(id).inserted else {
            throw ComponentBuildError(
                component: definition.spec.name, location: definition.location, keyPath: definition.keyPath,
                message: "depends on itself while being built")
        }
        defer { building.remove(id) }
        let made: Any
        do {
            made = try definition.spec.build(definition.config, BuildContext(graph: self))
        } catch let error as ComponentBuildError {
            throw error
        } catch {
            throw ComponentBuildError(
                component: definition.spec.name, location: definition.location, keyPath: definition.keyPath,
                message: "\(error)")
        }
        // Inline components are built where used; only top-level ones (shared by reference) are kept.
        if definition.topLevelKey != nil { instances[id] = made }
        return try cast(made, definition)
    }

    private func cast<Interface>(_ value: Any, _ definition: ComponentDefinition) throws -> Interface {
        guard let typed = value as? Interface else {
            throw ComponentBuildError(
                component: definition.spec.name, location: definition.location, keyPath: definition.keyPath,
                message: "built a \(type(of: value)), which is not a \(Interface.self)")
        }
        return typed
    }
}

/// How messages name the kind of value a field expects.
func valueDescription(_ type: Any.Type) -> String {
    let name = String(describing: type)
    if name.hasPrefix("Array<") { return "a list" }
    if name.hasPrefix("Dictionary<") { return "a mapping" }
    switch name {
    case "Int", "PositiveInt", "NonNegativeInt", "UInt64": return "an integer"
    case "Double", "Float": return "a number"
    case "String": return "a string"
    case "Bool": return "a boolean"
    default: return name
    }
}

/// A component's factory failed while building.
public struct ComponentBuildError: Error, CustomStringConvertible {
    public var component: String
    public var location: SourceLocation
    public var keyPath: String
    public var message: String

    public var description: String { "\(location): error: building \(component) at \(keyPath) failed: \(message)" }
}
