/// The fields of a config type, read by decoding it once from nothing: every key the type asks for is recorded
/// with its Swift type and whether it is optional; defaults come from the resulting value's properties.
public struct ConfigField: Sendable, Equatable {
    public var name: String
    public var type: String
    public var isRequired: Bool
    /// The default value, when optional and the type sets one.
    public var defaultValue: String?
    /// Set for a field accepted for compatibility with Modalities and not acted on: why.
    public var ignoredReason: String? = nil
}

enum ConfigSchema {
    static func fields(of spec: ComponentSpec) -> [ConfigField] {
        if let declared = spec.configType as? any DeclaredConfig.Type { return fields(of: declared) }
        let recorder = SchemaRecorder()
        guard let value = try? spec.decodeConfig(SchemaDecoder(recorder: recorder, depth: 0)) else { return recorder.fields }
        // Properties pair with keys in order when their counts match (configs decode their fields in declaration
        // order); otherwise by name, with camelCase read as snake_case.
        let properties = Mirror(reflecting: value).children.compactMap { child in child.label.map { ($0, describe(child.value)) } }
        let byName = Dictionary(properties.map { (snakeCase($0.0), $0.1) }, uniquingKeysWith: { first, _ in first })
        return recorder.fields.enumerated().map { index, field in
            var field = field
            if !field.isRequired {
                field.defaultValue = properties.count == recorder.fields.count ? properties[index].1 : byName[field.name] ?? "null"
            }
            return field
        }
    }

    /// The fields exactly as declared: keys, types, defaults and which are accepted without effect.
    static func fields<Config: DeclaredConfig>(of type: Config.Type) -> [ConfigField] {
        Config.declaredFields(of: Config()).map { field in
            ConfigField(
                name: field.key, type: SchemaRecorder.typeName(field.valueType), isRequired: field.isRequired,
                defaultValue: field.isRequired ? nil : field.defaultDescription, ignoredReason: field.ignoredReason)
        }
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                if !result.isEmpty { result += "_" }
                result += character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    private static func describe(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return "null" }
            return describe(wrapped)
        }
        if let positive = value as? CustomStringConvertible { return positive.description }
        return String(describing: value)
    }
}

final class SchemaRecorder {
    var fields: [ConfigField] = []

    func record(_ key: CodingKey, _ type: Any.Type, required: Bool) {
        guard !fields.contains(where: { $0.name == key.stringValue }) else { return }
        fields.append(ConfigField(name: key.stringValue, type: Self.typeName(type), isRequired: required, defaultValue: nil))
    }

    static func typeName(_ type: Any.Type) -> String {
        var name = String(describing: type)
        if name.hasPrefix("Optional<") { name = String(name.dropFirst("Optional<".count).dropLast()) }
        switch name {
        case "Int", "PositiveInt", "NonNegativeInt": return "int"
        case "Double", "Float": return "float"
        case "String": return "str"
        case "Bool": return "bool"
        default:
            if name.hasPrefix("ComponentSlot<") { return "component " + name.dropFirst("ComponentSlot<".count).dropLast() }
            if name.hasPrefix("Array<") { return "list[" + name.dropFirst("Array<".count).dropLast() + "]" }
            return name
        }
    }
}

/// A decoder that records requested keys and hands back stand-ins.
struct SchemaDecoder: Decoder {
    let recorder: SchemaRecorder
    let depth: Int
    var codingPath: [CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(SchemaContainer<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer { EmptyList() }
    func singleValueContainer() throws -> SingleValueDecodingContainer { SchemaValue(decoder: self) }

    func standIn<T: Decodable>(_ type: T.Type) throws -> T {
        if let known = T.self as? ConfigPlaceholder.Type, let value = known.placeholder as? T { return value }
        if let enumType = T.self as? any ConfigEnum.Type, let first = enumType.firstCase as? T { return first }
        guard depth < 4 else { throw ConfigAbort() }
        return try T(from: SchemaDecoder(recorder: SchemaRecorder(), depth: depth + 1))
    }
}

extension ConfigEnum {
    /// The first case, as a stand-in value. (On the existential metatype `allCases.first` names the method
    /// `first(where:)`, so the stand-in is reached through this static member of the concrete type.)
    fileprivate static var firstCase: Self? { allCases.first }
}

private struct SchemaContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: SchemaDecoder
    var codingPath: [CodingKey] { [] }
    var allKeys: [Key] { [] }
    func contains(_ key: Key) -> Bool { false }
    func decodeNil(forKey key: Key) throws -> Bool { true }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        if decoder.depth == 0 { decoder.recorder.record(key, T.self, required: true) }
        return try decoder.standIn(type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        if decoder.depth == 0 { decoder.recorder.record(key, T.self, required: false) }
        return nil
    }

    // The standard library gives these types default implementations that would bypass the recording above.
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decodeOptional(type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try decodeOptional(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decodeOptional(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decodeOptional(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decodeOptional(type, key) }

    private func decodeOptional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        if decoder.depth == 0 { decoder.recorder.record(key, T.self, required: false) }
        return nil
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(SchemaContainer<NestedKey>(decoder: SchemaDecoder(recorder: SchemaRecorder(), depth: decoder.depth + 1)))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { EmptyList() }
    func superDecoder() throws -> Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> Decoder { decoder }
}

private struct SchemaValue: SingleValueDecodingContainer {
    let decoder: SchemaDecoder
    var codingPath: [CodingKey] { [] }
    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.standIn(type) }
}

private struct EmptyList: UnkeyedDecodingContainer {
    var codingPath: [CodingKey] { [] }
    var count: Int? { 0 }
    var isAtEnd: Bool { true }
    var currentIndex: Int { 0 }
    mutating func decodeNil() throws -> Bool { false }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { throw ConfigAbort() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw ConfigAbort()
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { throw ConfigAbort() }
    mutating func superDecoder() throws -> Decoder { throw ConfigAbort() }
}

extension ComponentSpec {
    /// The config fields of this variant with types and defaults (empty for planned variants).
    public var configFields: [ConfigField] {
        availability == .available ? ConfigSchema.fields(of: self) : []
    }
}
