/// A registered component variant: its keys, typed config, the interfaces it produces and its factory.
public struct ComponentSpec {
    /// Whether the variant can be built in this version.
    public enum Availability: Sendable, Equatable {
        case available
        /// Known from Modalities but not built yet; `feature` names what is missing.
        case planned(feature: String)
    }

    public var componentKey: String
    public var variantKey: String
    public var summary: String
    public var availability: Availability
    /// The config type's name, as shown by `modalities config components`.
    public var configTypeName: String
    /// Names of the interfaces (Swift protocols or value types) the component can fill.
    public var interfaceNames: [String]
    let interfaces: [ObjectIdentifier]
    let configType: Any.Type
    let decodeConfig: (Decoder) throws -> Any
    let build: (Any, BuildContext) throws -> Any

    /// `component_key/variant_key`.
    public var name: String { "\(componentKey)/\(variantKey)" }

    func produces(_ interface: Any.Type) -> Bool {
        interface == Any.self || interfaces.contains(ObjectIdentifier(interface))
    }
}

/// The table of every component the config system can build, keyed by `(component_key, variant_key)`.
///
/// ``ComponentRegistry/builtIn()`` lists the built-in ones; libraries and applications register their own with
/// ``register(_:_:summary:config:produces:build:)`` without forking.
public final class ComponentRegistry {
    private var specs: [String: ComponentSpec] = [:]
    private var order: [String] = []

    public init() {}

    /// Registers a variant.
    ///
    /// - Parameters:
    ///   - config: the typed config, decoded from the YAML `config` mapping with the same field names.
    ///   - produces: the interfaces the instance can fill, e.g. `[(any Optimizer).self]` or `[Int.self]`.
    ///   - build: makes the instance; nested components come from `context`.
    public func register<Config: Decodable, Instance>(
        _ componentKey: String, _ variantKey: String, summary: String = "",
        config: Config.Type, produces: [Any.Type], build: @escaping (Config, BuildContext) throws -> Instance
    ) {
        let spec = ComponentSpec(
            componentKey: componentKey, variantKey: variantKey, summary: summary, availability: .available,
            configTypeName: String(describing: Config.self),
            interfaceNames: produces.map { String(describing: $0) },
            interfaces: produces.map { ObjectIdentifier($0) },
            configType: Config.self,
            decodeConfig: { try Config(from: $0) },
            build: { config, context in try build(config as! Config, context) }
        )
        insert(spec)
    }

    /// Records a Modalities variant that is not built yet, so configs using it get an error naming the feature.
    public func registerPlanned(_ componentKey: String, _ variantKey: String, feature: String) {
        let spec = ComponentSpec(
            componentKey: componentKey, variantKey: variantKey, summary: "", availability: .planned(feature: feature),
            configTypeName: "", interfaceNames: [], interfaces: [], configType: Void.self,
            decodeConfig: { _ in () }, build: { _, _ in () }
        )
        insert(spec)
    }

    private func insert(_ spec: ComponentSpec) {
        if specs[spec.name] == nil { order.append(spec.name) }
        specs[spec.name] = spec
    }

    /// The variant registered under these keys.
    public func spec(_ componentKey: String, _ variantKey: String) -> ComponentSpec? {
        specs["\(componentKey)/\(variantKey)"]
    }

    /// Every variant of `componentKey`.
    public func variants(of componentKey: String) -> [ComponentSpec] {
        all.filter { $0.componentKey == componentKey }
    }

    /// Every registered variant, sorted by name.
    public var all: [ComponentSpec] { order.sorted().compactMap { specs[$0] } }

    /// Every component key.
    public var componentKeys: [String] { Array(Set(all.map(\.componentKey))).sorted() }
}
