/// Reads the protobuf wire format, enough for SentencePiece's `.model` files (no code generation needed).
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    struct Malformed: Error {
        var offset: Int
        var reason: String
    }

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var atEnd: Bool { index >= bytes.endIndex }

    /// The next field number and value.
    mutating func next() throws -> (field: Int, value: Value) {
        let key = try varint()
        let field = Int(key >> 3)
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1:
            let raw = try take(8)
            return (field, .fixed64(raw.reversed().reduce(0) { $0 << 8 | UInt64($1) }))
        case 2:
            // A forged length may not fit an Int (found by `make fuzz`); it cannot fit the file either.
            let declared = try varint()
            guard let length = Int(exactly: declared) else {
                throw Malformed(offset: index, reason: "field length \(declared) runs past the end")
            }
            return (field, .bytes(try take(length)))
        case 5:
            let raw = try take(4)
            return (field, .fixed32(raw.reversed().reduce(0) { $0 << 8 | UInt32($1) }))
        default:
            throw Malformed(offset: index, reason: "unsupported wire type \(key & 7)")
        }
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.endIndex, shift < 64 else { throw Malformed(offset: index, reason: "truncated varint") }
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.endIndex - index else { throw Malformed(offset: index, reason: "field runs past the end") }
        defer { index += count }
        return bytes[index..<(index + count)]
    }
}
