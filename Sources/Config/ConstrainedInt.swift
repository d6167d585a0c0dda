/// An integer that must be greater than zero (pydantic's `Field(gt=0)`).
public struct PositiveInt: Decodable, Sendable, Equatable, CustomStringConvertible, ConfigValueWrapper {
    public let value: Int

    public init(_ value: Int) throws {
        guard value > 0 else { throw ConfigValueError("must be greater than 0, found \(value)") }
        self.value = value
    }

    public init(from decoder: Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(Int.self))
    }

    public var description: String { "\(value)" }
}

/// An integer that must not be negative (pydantic's `Field(ge=0)`).
public struct NonNegativeInt: Decodable, Sendable, Equatable, CustomStringConvertible, ConfigValueWrapper {
    public let value: Int

    public init(_ value: Int) throws {
        guard value >= 0 else { throw ConfigValueError("must be 0 or greater, found \(value)") }
        self.value = value
    }

    public init(from decoder: Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(Int.self))
    }

    public var description: String { "\(value)" }
}

/// A type that decodes one wrapped scalar with extra checks; a component may supply the scalar.
protocol ConfigValueWrapper: ConfigPlaceholder {}

extension PositiveInt {
    static var placeholder: Any { try! PositiveInt(1) }
}

extension NonNegativeInt {
    static var placeholder: Any { try! NonNegativeInt(0) }
}

/// One string or a list of them, as Hugging Face's `special_tokens` entries are written (`pad_token: <pad>`,
/// `additional_special_tokens: [<a>, <b>]`).
public struct StringOrList: Decodable, Sendable, Equatable {
    public let values: [String]

    public init(_ values: [String]) { self.values = values }

    public init(from decoder: Decoder) throws {
        if let configDecoder = decoder as? ConfigDecoder, configDecoder.node.elements != nil {
            values = try [String](from: decoder)
        } else {
            values = [try decoder.singleValueContainer().decode(String.self)]
        }
    }
}
