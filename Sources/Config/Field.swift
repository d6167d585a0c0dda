/// A config field declared once: its YAML key, its default and whether the value is acted on. The decoder, the
/// validator and the component reference (`modalities config components`, docs/components.md) all read this
/// declaration, so a default cannot differ between what runs and what is documented.
///
/// ```swift
/// struct ShardingConfig: DeclaredConfig {
///     @Field("reshard_after_forward") var reshardAfterForward = true      // optional, default true
///     @Field("wrapped_model") var wrappedModel: ComponentSlot<any Model>  // required
///     @Field("block_names") var blockNames: [String]?                     // optional, default null
///     @Field("precision", ignored: "weights keep the model's dtype") var precision: String?
/// }
/// ```
///
/// A field declared `ignored:` is read (so its type is still checked) and accepted for compatibility with Modalities'
/// configs; when a config sets it, validation warns that it has no effect and says why.
@propertyWrapper
public struct Field<Value: Decodable>: DeclaredField {
    public let key: String
    let defaultValue: Value?
    let ignoredReason: String?
    // Decoding fills the value of a fresh instance through Mirror, which hands out copies: the value lives in a box
    // that those copies share. Only decoding writes into the box; assignment replaces it, so the struct keeps value
    // semantics.
    private var storage: FieldStorage<Value>

    public var wrappedValue: Value {
        get {
            guard let value = storage.value ?? defaultValue else {
                preconditionFailure("config field '\(key)' read before it was decoded")
            }
            return value
        }
        set { storage = FieldStorage(newValue) }
    }

    /// An optional field with a default (an optional `Value` without an initial value defaults to null).
    public init(wrappedValue: Value, _ key: String) {
        self.init(key: key, defaultValue: wrappedValue, ignoredReason: nil)
    }

    /// A required field, or for an optional `Value` one that defaults to null.
    public init(_ key: String) {
        self.init(key: key, defaultValue: nil, ignoredReason: nil)
    }

    /// A field accepted for compatibility and not acted on; `reason` says why, in the validation warning.
    public init(wrappedValue: Value, _ key: String, ignored reason: String) {
        self.init(key: key, defaultValue: wrappedValue, ignoredReason: reason)
    }

    private init(key: String, defaultValue: Value?, ignoredReason: String?) {
        self.key = key
        // An optional field declared without a default (`var x: Int?`) defaults to null.
        self.defaultValue = defaultValue ?? ((Value.self as? any ExpressibleByNilLiteral.Type)?.init(nilLiteral: ()) as? Value)
        self.ignoredReason = ignoredReason
        storage = FieldStorage(nil)
    }

    var isRequired: Bool { defaultValue == nil }
    var valueType: Any.Type { Value.self }
    var defaultDescription: String? { defaultValue.map(describeDefault) }

    func decode(from container: KeyedDecodingContainer<FieldKey>, decoder: Decoder) throws {
        let key = FieldKey(key)
        if isRequired {
            storage.value = try container.decode(Value.self, forKey: key)
        } else if let value = try decodeIfPresent(from: container, key: key) {
            storage.value = value
            if let ignoredReason, !isNull(value) {
                decoder.warn(
                    field: self.key, "'\(self.key)' is accepted for compatibility with Modalities and has no effect: \(ignoredReason)")
            }
        }
    }
}

extension Field {
    /// An optional field's value is decoded as the wrapped type, so the decoder sees a component slot as a slot.
    private func decodeIfPresent(from container: KeyedDecodingContainer<FieldKey>, key: FieldKey) throws -> Value? {
        guard let optional = Value.self as? any OptionalField.Type else { return try container.decodeIfPresent(Value.self, forKey: key) }
        guard let wrapped = try optional.decodeWrapped(from: container, key: key) else { return nil }
        return wrapped as? Value
    }
}

private protocol OptionalField {
    static func decodeWrapped(from container: KeyedDecodingContainer<FieldKey>, key: FieldKey) throws -> Any?
}

extension Optional: OptionalField where Wrapped: Decodable {
    fileprivate static func decodeWrapped(from container: KeyedDecodingContainer<FieldKey>, key: FieldKey) throws -> Any? {
        try container.decodeIfPresent(Wrapped.self, forKey: key)
    }
}

final class FieldStorage<Value>: @unchecked Sendable {
    // Written only while the owning config is decoded, before any other code can see it (see `Field.storage`).
    var value: Value?
    init(_ value: Value?) { self.value = value }
}

/// A config type whose fields are all declared with ``Field``: decoding, validation and the component reference
/// come from those declarations. `validate()` checks what one field cannot say alone (two fields that must agree).
public protocol DeclaredConfig: Decodable {
    /// Every field at its default; required fields are filled by decoding.
    init()
    /// Called after every field is decoded; throw ``ConfigValueError`` for a value the config cannot run with.
    func validate() throws
}

extension DeclaredConfig {
    public func validate() throws {}

    public init(from decoder: Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: FieldKey.self)
        for child in Mirror(reflecting: self).children {
            if let field = child.value as? any DeclaredField {
                try field.decode(from: container, decoder: decoder)
            } else if let group = child.value as? any DeclaredFieldGroup {
                try group.decode(from: decoder)
            }
        }
        try validate()
    }

    static func declaredFields(of value: Self) -> [any DeclaredField] {
        Mirror(reflecting: value).children.flatMap { child -> [any DeclaredField] in
            if let field = child.value as? any DeclaredField { return [field] }
            if let group = child.value as? any DeclaredFieldGroup { return group.fields }
            return []
        }
    }
}

/// The fields of another declared config, read from the same mapping (a scheduler's shared `optimizer` and
/// `last_epoch` beside each variant's own parameters).
@propertyWrapper
public struct Fields<Value: DeclaredConfig>: DeclaredFieldGroup {
    private var storage = FieldStorage<Value>(nil)

    public var wrappedValue: Value {
        get {
            guard let value = storage.value else { preconditionFailure("config fields \(Value.self) read before they were decoded") }
            return value
        }
        set { storage = FieldStorage(newValue) }
    }

    public init() {}

    var fields: [any DeclaredField] { Value.declaredFields(of: Value()) }

    func decode(from decoder: Decoder) throws {
        storage.value = try Value(from: decoder)
    }
}

protocol DeclaredFieldGroup {
    var fields: [any DeclaredField] { get }
    func decode(from decoder: Decoder) throws
}

/// What the decoder and the schema see of a ``Field``.
protocol DeclaredField {
    var key: String { get }
    var isRequired: Bool { get }
    var valueType: Any.Type { get }
    var defaultDescription: String? { get }
    var ignoredReason: String? { get }
    func decode(from container: KeyedDecodingContainer<FieldKey>, decoder: Decoder) throws
}

/// The coding key of a declared field: any YAML key.
struct FieldKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ key: String) { stringValue = key }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private func isNull(_ value: Any) -> Bool {
    let mirror = Mirror(reflecting: value)
    return mirror.displayStyle == .optional && mirror.children.isEmpty
}

/// A default as the YAML would spell it: `null`, an enum's raw value, a number or a string.
func describeDefault(_ value: Any) -> String {
    let mirror = Mirror(reflecting: value)
    if mirror.displayStyle == .optional {
        guard let wrapped = mirror.children.first?.value else { return "null" }
        return describeDefault(wrapped)
    }
    if let raw = value as? any RawRepresentable, let text = raw.rawValue as? String { return text }
    if let list = value as? [Any] { return "[" + list.map(describeDefault).joined(separator: ", ") + "]" }
    if let text = value as? CustomStringConvertible { return text.description }
    return String(describing: value)
}
