/// A config field that holds a component (inline or by reference) to be built later, as `Interface`.
///
/// Decoding a slot validates the component's config and checks that it can fill `Interface`, without building
/// anything; the factory that owns the slot builds it with ``BuildContext/build(_:)``.
public struct ComponentSlot<Interface>: Decodable {
    /// Nil only when decoded by the schema reader that lists config fields.
    let definition: ComponentDefinition?

    public init(from decoder: Decoder) throws {
        guard let configDecoder = decoder as? ConfigDecoder else {
            guard decoder is SchemaDecoder else {
                throw DecodingError.typeMismatch(
                    ComponentSlot.self,
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "component slots decode only from configs"))
            }
            definition = nil
            return
        }
        definition = try configDecoder.graph.definition(
            for: configDecoder.node, keyPath: configDecoder.keyPath,
            interface: Interface.self)
    }

    /// Where the component was declared, for messages.
    public var location: SourceLocation? { definition?.location }
    /// `component_key/variant_key` of the component in the slot.
    public var componentName: String? { definition?.spec.name }
}

extension ComponentSlot: ConfigPlaceholder {
    /// Stands in after a recorded problem so the rest of the config is still checked; never built.
    static var placeholder: Any { ComponentSlot(definition: nil) }

    private init(definition: ComponentDefinition?) { self.definition = definition }
}

/// Passed to factories: builds the components in their config's slots.
public struct BuildContext {
    let graph: ObjectGraph

    /// The instance for `slot`: one shared instance for a reference to a top-level key, a fresh one for an
    /// inline component.
    public func build<Interface>(_ slot: ComponentSlot<Interface>) throws -> Interface {
        guard let definition = slot.definition else {
            throw ConfigValueError("a component slot read without a config cannot be built")
        }
        return try graph.instance(of: definition, as: Interface.self)
    }

    /// Builds every slot of a list.
    public func build<Interface>(_ slots: [ComponentSlot<Interface>]) throws -> [Interface] {
        try slots.map { try build($0) }
    }

    /// Builds an optional slot.
    public func build<Interface>(_ slot: ComponentSlot<Interface>?) throws -> Interface? {
        try slot.map { try build($0) }
    }

    /// The value of type `Value` the graph's builder set in its ``BuildEnvironment`` (nil when none).
    public func environment<Value>(_ type: Value.Type) -> Value? { graph.environment[type] }
}

/// Config enums are written by member name (`BF_16`, `FULL_SHARD`); conforming types get "expected one of"
/// messages listing the valid names.
public protocol ConfigEnum: CaseIterable, RawRepresentable, Decodable where RawValue == String {}

/// A config field whose component is built while the config is read, for configs that need its value to be
/// decoded at all (Modalities 0.3's `attention_norm: {component_key: layer_norm, ...}`, whose settings the model's
/// config takes). Number conversions where an int is expected work this way without a wrapper.
public struct EagerComponent<Interface>: Decodable, AnyComponentSlot {
    public let value: Interface

    public init(from decoder: Decoder) throws {
        guard let configDecoder = decoder as? ConfigDecoder else {
            throw DecodingError.typeMismatch(
                EagerComponent.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "eager components decode only from configs"))
        }
        value = try configDecoder.graph.eagerValue(of: configDecoder.node, keyPath: configDecoder.keyPath, as: Interface.self)
    }
}
