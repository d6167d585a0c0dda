/// Decodes typed configs from ``ConfigNode``s, collecting every problem with its location.
///
/// Scalars coerce like pydantic's lax mode (`"12"` is a valid int, `1` a valid float); enums are read by member
/// name; keys the type never asks for are reported as unknown with the closest valid key. Components met where
/// a plain value is expected (a `number_conversion` giving an int) are built on the spot; components in
/// ``ComponentSlot`` fields are only validated.
final class ConfigDecoder: Decoder {
    let node: ConfigNode
    let keyPath: String
    let graph: ObjectGraph
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: ConfigNode, keyPath: String, graph: ObjectGraph, codingPath: [CodingKey] = []) {
        self.node = node
        self.keyPath = keyPath
        self.graph = graph
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let entries = node.entries else {
            throw graph.abort(.wrongType, "expected a mapping, found \(node.kindDescription)", at: node.location, keyPath: keyPath)
        }
        let tracker = graph.trackKeys(of: node, entries: entries, keyPath: keyPath)
        return KeyedDecodingContainer(MappingContainer<Key>(decoder: self, entries: entries, tracker: tracker))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard let elements = node.elements else {
            throw graph.abort(.wrongType, "expected a list, found \(node.kindDescription)", at: node.location, keyPath: keyPath)
        }
        return SequenceContainer(decoder: self, elements: elements)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        ScalarContainer(decoder: self)
    }

    func child(_ node: ConfigNode, key: CodingKey, path: String) -> ConfigDecoder {
        ConfigDecoder(node: node, keyPath: path, graph: graph, codingPath: codingPath + [key])
    }

    /// Decodes `type` from `node`, the single entry point every container uses.
    func decode<T: Decodable>(_ type: T.Type, from node: ConfigNode, keyPath: String, codingPath: [CodingKey]) throws -> T {
        // A value whose interpolation failed is unknown: that failure is reported, nothing more can be said about it.
        if node.isUnresolved {
            graph.unknownValuesRead += 1
            throw ConfigAbort()
        }
        if let reference = ReferenceNode(node) {
            let target = try graph.referenceTarget(reference, keyPath: keyPath)
            if ComponentNode(target) == nil, ReferenceNode(target) == nil {
                // A reference to a plain top-level value (a list of dataloaders) stands for that value.
                return try decode(type, from: target, keyPath: reference.instanceKey, codingPath: codingPath)
            }
        }
        // A component where a value is expected gives that value (a number conversion giving an int); wrappers such
        // as PositiveInt decode their scalar first, which lands here again.
        if !(T.self is AnyComponentSlot.Type), !(T.self is ConfigValueWrapper.Type),
            ComponentNode(node) != nil || ReferenceNode(node) != nil
        {
            return try graph.eagerValue(of: node, keyPath: keyPath, as: T.self)
        }
        if let scalarType = T.self as? ConfigScalar.Type {
            return try scalarType.coerce(node, keyPath: keyPath, graph: graph) as! T
        }
        if let enumType = T.self as? any ConfigEnum.Type {
            return try decodeEnum(enumType, from: node, keyPath: keyPath) as! T
        }
        let problemsBefore = graph.issues.count
        do {
            return try T(from: ConfigDecoder(node: node, keyPath: keyPath, graph: graph, codingPath: codingPath))
        } catch let error as ConfigValueError {
            // The type stopped before reading all its keys; the ones it did not reach are not unknown.
            graph.markAborted(node, keyPath: keyPath)
            // A check that failed on a stand-in for an already reported problem says nothing new.
            guard graph.issues.count == problemsBefore else { throw ConfigAbort() }
            throw graph.abort(.invalidValue, error.message, at: node.location, keyPath: keyPath)
        }
    }

    private func decodeEnum<E: ConfigEnum>(_ type: E.Type, from node: ConfigNode, keyPath: String) throws -> E {
        let names = E.allCases.map(\.rawValue)
        guard let text = node.scalarText, !node.isNull, let value = E(rawValue: text) else {
            var message = "expected one of \(names.joined(separator: ", ")), found \(node.kindDescription)"
            if let text = node.scalarText, let suggestion = closestMatch(to: text, in: names) {
                message += "; did you mean '\(suggestion)'?"
            }
            throw graph.abort(.invalidValue, message, at: node.location, keyPath: keyPath)
        }
        return value
    }
}

/// Marks ``ComponentSlot`` so the decoder leaves its components unbuilt.
protocol AnyComponentSlot {}
extension ComponentSlot: AnyComponentSlot {}

/// The key path of `key` under `parent`.
func childPath(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

private struct MappingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: ConfigDecoder
    let entries: [ConfigNode.Entry]
    let tracker: KeyTracker

    var codingPath: [CodingKey] { decoder.codingPath }
    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

    private func entry(_ key: Key) -> ConfigNode.Entry? {
        tracker.accessed.insert(key.stringValue)
        return entries.first { $0.key == key.stringValue }
    }

    func contains(_ key: Key) -> Bool { entry(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let entry = entry(key) else { return true }
        return entry.node.isNull
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let path = childPath(decoder.keyPath, key.stringValue)
        guard let entry = entry(key) else {
            let issue = ConfigIssue(.missingKey, "missing required key '\(key.stringValue)'", at: decoder.node.location, keyPath: path)
            if let placeholder = (T.self as? ConfigPlaceholder.Type)?.placeholder as? T {
                decoder.graph.issues.add(issue)
                return placeholder
            }
            tracker.aborted = true
            throw decoder.graph.abort(issue)
        }
        do {
            return try decoder.decode(type, from: entry.node, keyPath: path, codingPath: codingPath + [key])
        } catch is ConfigAbort {
            // The problem is recorded; a stand-in lets the rest of this mapping be checked too.
            if let placeholder = (T.self as? ConfigPlaceholder.Type)?.placeholder as? T { return placeholder }
            tracker.aborted = true
            throw ConfigAbort()
        } catch {
            tracker.aborted = true
            throw error
        }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let entry = entry(key), !entry.node.isNull else { return nil }
        return try decode(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        guard let entry = entry(key) else {
            throw decoder.graph.abort(
                .missingKey, "missing required key '\(key.stringValue)'", at: decoder.node.location,
                keyPath: childPath(decoder.keyPath, key.stringValue))
        }
        return try decoder.child(entry.node, key: key, path: childPath(decoder.keyPath, key.stringValue)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        guard let entry = entry(key) else {
            throw decoder.graph.abort(
                .missingKey, "missing required key '\(key.stringValue)'", at: decoder.node.location,
                keyPath: childPath(decoder.keyPath, key.stringValue))
        }
        return try decoder.child(entry.node, key: key, path: childPath(decoder.keyPath, key.stringValue)).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> Decoder {
        guard let entry = entry(key) else { return decoder }
        return decoder.child(entry.node, key: key, path: childPath(decoder.keyPath, key.stringValue))
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "[\(intValue ?? 0)]" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct SequenceContainer: UnkeyedDecodingContainer {
    let decoder: ConfigDecoder
    let elements: [ConfigNode]
    var currentIndex = 0

    init(decoder: ConfigDecoder, elements: [ConfigNode]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var path: String { decoder.keyPath + "[\(currentIndex)]" }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !isAtEnd else {
            throw decoder.graph.abort(.missingKey, "list ended early", at: decoder.node.location, keyPath: path)
        }
        defer { currentIndex += 1 }
        return try decoder.decode(type, from: elements[currentIndex], keyPath: path, codingPath: codingPath + [IndexKey(currentIndex)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        defer { currentIndex += 1 }
        return try decoder.child(elements[currentIndex], key: IndexKey(currentIndex), path: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        defer { currentIndex += 1 }
        return try decoder.child(elements[currentIndex], key: IndexKey(currentIndex), path: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder { decoder }
}

private struct ScalarContainer: SingleValueDecodingContainer {
    let decoder: ConfigDecoder
    var codingPath: [CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.node.isNull }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decoder.decode(type, from: decoder.node, keyPath: decoder.keyPath, codingPath: codingPath)
    }
}

extension Decoder {
    /// Whether the value being decoded is a list (for fields that take one value or a list of them, such as
    /// `img_size`); nil outside a config.
    public var configValueIsList: Bool? {
        (self as? ConfigDecoder).map { $0.node.elements != nil }
    }

    /// Reports a warning at the value being decoded: a config that runs, but not as its author may expect.
    /// Outside a config (a plain `Decoder`) it does nothing.
    public func warn(_ message: String) {
        guard let decoder = self as? ConfigDecoder else { return }
        decoder.graph.issues.add(
            ConfigIssue(.invalidValue, message, at: decoder.node.location, keyPath: decoder.keyPath, severity: .warning))
    }
}

extension Decoder {
    /// Reports a warning at one key of the mapping being decoded.
    func warn(field key: String, _ message: String) {
        guard let decoder = self as? ConfigDecoder else { return }
        let location = decoder.node.entries?.first { $0.key == key }?.node.location ?? decoder.node.location
        decoder.graph.issues.add(
            ConfigIssue(.invalidValue, message, at: location, keyPath: childPath(decoder.keyPath, key), severity: .warning))
    }
}
