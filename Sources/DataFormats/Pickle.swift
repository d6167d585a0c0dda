/// A restricted pickle reader and writer for the data Modalities stores with `pickle`: lists and tuples of
/// integers (the `.idx` and `.pbin` indexes). It never executes anything: an opcode outside the allow list
/// (GLOBAL, REDUCE, BUILD, ...) is an error that names it.
///
/// Reading PyTorch checkpoints allow-lists a few classes and functions by name (`allowedGlobals`); even then
/// nothing is called: GLOBAL, REDUCE, NEWOBJ, BUILD and persistent ids become symbolic values that the checkpoint
/// reader interprets (e.g. `torch._utils._rebuild_tensor_v2` over a storage record).
public enum Pickle {
    /// A decoded value.
    public indirect enum Value: Equatable, Sendable {
        case int(Int)
        case float(Double)
        case bool(Bool)
        case none
        case string(String)
        case list([Value])
        case tuple([Value])
        case bytes([UInt8])
        /// A dict (or OrderedDict) in insertion order.
        case dict([DictEntry])
        /// An allow-listed class or function, by module and name.
        case global(module: String, name: String)
        /// `callable(*arguments)` as REDUCE or NEWOBJ records it, not called.
        case call(Value, [Value])
        /// An object whose state BUILD set.
        case built(Value, state: Value)
        /// A persistent id (BINPERSID): how torch.save points at tensor storages.
        case persistent(Value)
    }

    public struct DictEntry: Equatable, Sendable {
        public var key: Value
        public var value: Value

        public init(key: Value, value: Value) {
            self.key = key
            self.value = value
        }
    }

    /// Why a pickle was refused, with the byte offset of the opcode.
    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case disallowedOpcode(name: String, offset: Int)
        case unknownOpcode(UInt8, offset: Int)
        case truncated(offset: Int)
        case malformed(String, offset: Int)
        case disallowedGlobal(String, offset: Int)

        public var description: String {
            switch self {
            case let .disallowedOpcode(name, offset):
                return "pickle opcode \(name) at byte \(offset) is not allowed (only plain data is read)"
            case let .unknownOpcode(code, offset): return "unknown pickle opcode 0x\(String(code, radix: 16)) at byte \(offset)"
            case let .truncated(offset): return "pickle ends early at byte \(offset)"
            case let .malformed(reason, offset): return "malformed pickle at byte \(offset): \(reason)"
            case let .disallowedGlobal(name, offset):
                return "pickle names \(name) at byte \(offset), which is not allowed (only known checkpoint classes are read)"
            }
        }
    }

    /// Decodes one pickle (protocol 0 binary subset, 2 to 5) from `bytes`.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> Value {
        var reader = PickleReader(bytes: Array(bytes))
        return try reader.run()
    }

    /// Decodes a pickle that may name the classes and functions in `allowedGlobals` (`module.name`), as symbolic
    /// values; any other name is refused.
    public static func decode(_ bytes: some Collection<UInt8>, allowedGlobals: Set<String>) throws -> Value {
        var reader = PickleReader(bytes: Array(bytes))
        reader.allowedGlobals = allowedGlobals
        return try reader.run()
    }

    /// Encodes a list of integer pairs as Python would (`pickle.dumps(list_of_tuples)`, protocol 4 framing off).
    public static func encodePairs(_ pairs: [(Int, Int)]) -> [UInt8] {
        var output: [UInt8] = [0x80, 4, 0x5D]  // PROTO 4, EMPTY_LIST
        var index = 0
        while index < pairs.count {
            let batch = pairs[index..<Swift.min(index + 1000, pairs.count)]
            output.append(0x28)  // MARK
            for (first, second) in batch {
                appendInt(first, to: &output)
                appendInt(second, to: &output)
                output.append(0x86)  // TUPLE2
            }
            output.append(0x65)  // APPENDS
            index += batch.count
        }
        output.append(0x2E)  // STOP
        return output
    }

    /// Encodes a plain value (numbers, strings, bytes, lists, tuples, dicts) as protocol 4 without framing or memo,
    /// which Python's `pickle.load` reads; classes, calls and persistent ids are refused.
    public static func encode(_ value: Value) throws -> [UInt8] {
        var output: [UInt8] = [0x80, 4]
        try append(value, to: &output)
        output.append(0x2E)  // STOP
        return output
    }

    private static func append(_ value: Value, to output: inout [UInt8]) throws {
        switch value {
        case .int(let i): appendInt(i, to: &output)
        case .float(let d):
            output.append(0x47)  // BINFLOAT, big-endian
            withUnsafeBytes(of: d.bitPattern.bigEndian) { output += $0 }
        case .bool(let b): output.append(b ? 0x88 : 0x89)  // NEWTRUE, NEWFALSE
        case .none: output.append(0x4E)
        case .string(let s):
            let bytes = Array(s.utf8)
            if bytes.count < 256 {
                output += [0x8C, UInt8(bytes.count)]  // SHORT_BINUNICODE
            } else {
                output.append(0x58)  // BINUNICODE, 4-byte length
                withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { output += $0 }
            }
            output += bytes
        case .bytes(let bytes):
            output.append(0x42)  // BINBYTES
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { output += $0 }
            output += bytes
        case .list(let items):
            output.append(0x5D)  // EMPTY_LIST
            for batch in stride(from: 0, to: items.count, by: 1000) {
                output.append(0x28)  // MARK
                for item in items[batch..<Swift.min(batch + 1000, items.count)] { try append(item, to: &output) }
                output.append(0x65)  // APPENDS
            }
        case .tuple(let items):
            output.append(0x28)  // MARK
            for item in items { try append(item, to: &output) }
            output.append(0x74)  // TUPLE
        case .dict(let entries):
            output.append(0x7D)  // EMPTY_DICT
            for batch in stride(from: 0, to: entries.count, by: 1000) {
                output.append(0x28)  // MARK
                for entry in entries[batch..<Swift.min(batch + 1000, entries.count)] {
                    try append(entry.key, to: &output)
                    try append(entry.value, to: &output)
                }
                output.append(0x75)  // SETITEMS
            }
        case .global, .call, .built, .persistent:
            throw EncodingError.unsupported("\(value)")
        }
    }

    /// A value ``encode(_:)`` does not write.
    public enum EncodingError: Error, Equatable {
        case unsupported(String)
    }

    private static func appendInt(_ value: Int, to output: inout [UInt8]) {
        switch value {
        case 0...0xFF:
            output += [0x4B, UInt8(value)]  // BININT1
        case 0...0xFFFF:
            output += [0x4D, UInt8(value & 0xFF), UInt8(value >> 8)]  // BININT2
        case Int(Int32.min)...Int(Int32.max):
            output.append(0x4A)  // BININT
            withUnsafeBytes(of: Int32(value).littleEndian) { output += $0 }
        default:
            output += [0x8A, 8]  // LONG1, 8 bytes little-endian two's complement
            withUnsafeBytes(of: Int64(value).littleEndian) { output += $0 }
        }
    }
}

extension Pickle.Value {
    /// The value as a list of integer pairs, or nil when it is not one.
    public var integerPairs: [(Int, Int)]? {
        guard case .list(let items) = self else { return nil }
        var pairs: [(Int, Int)] = []
        pairs.reserveCapacity(items.count)
        for item in items {
            guard case .tuple(let parts) = item, parts.count == 2, case .int(let a) = parts[0], case .int(let b) = parts[1] else {
                return nil
            }
            pairs.append((a, b))
        }
        return pairs
    }
}

private struct PickleReader {
    let bytes: [UInt8]
    var position = 0
    var stack: [Pickle.Value] = []
    var marks: [Int] = []
    var memo: [Int: Pickle.Value] = [:]
    /// Nil: the plain-data subset only (GLOBAL, REDUCE, ... refused by opcode).
    var allowedGlobals: Set<String>?

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw Pickle.DecodingError.truncated(offset: position) }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    func global(_ module: String, _ name: String, at offset: Int) throws -> Pickle.Value {
        guard allowedGlobals?.contains("\(module).\(name)") == true else {
            throw Pickle.DecodingError.disallowedGlobal("\(module).\(name)", offset: offset)
        }
        return .global(module: module, name: name)
    }

    mutating func setItems(_ items: [Pickle.Value], at offset: Int) throws {
        guard items.count % 2 == 0 else { throw Pickle.DecodingError.malformed("odd number of dict items", offset: offset) }
        guard case .dict(var entries)? = stack.popLast() else {
            throw Pickle.DecodingError.malformed("SETITEM on a non-dict", offset: offset)
        }
        for index in stride(from: 0, to: items.count, by: 2) {
            let key = items[index]
            if let existing = entries.firstIndex(where: { $0.key == key }) {
                entries[existing].value = items[index + 1]
            } else {
                entries.append(Pickle.DictEntry(key: key, value: items[index + 1]))
            }
        }
        stack.append(.dict(entries))
    }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else { throw Pickle.DecodingError.truncated(offset: position) }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func unsigned(_ count: Int) throws -> Int {
        try take(count).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    mutating func pop(at offset: Int) throws -> Pickle.Value {
        guard let value = stack.popLast() else { throw Pickle.DecodingError.malformed("stack underflow", offset: offset) }
        return value
    }

    mutating func popMark(at offset: Int) throws -> [Pickle.Value] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw Pickle.DecodingError.malformed("no MARK", offset: offset) }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    mutating func append(_ items: [Pickle.Value], at offset: Int) throws {
        guard case .list(var list)? = stack.popLast() else { throw Pickle.DecodingError.malformed("APPEND to a non-list", offset: offset) }
        list.append(contentsOf: items)
        stack.append(.list(list))
    }

    mutating func run() throws -> Pickle.Value {
        while true {
            let offset = position
            let opcode = try take(1).first!
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x2E: return try pop(at: offset)  // STOP
            case 0x5D: stack.append(.list([]))  // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x28: marks.append(stack.count)  // MARK
            case 0x4B: stack.append(.int(try unsigned(1)))  // BININT1
            case 0x4D: stack.append(.int(try unsigned(2)))  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
            case 0x8A:  // LONG1
                let length = try unsigned(1)
                guard length <= 8 else { throw Pickle.DecodingError.malformed("integer of \(length) bytes", offset: offset) }
                let raw = try take(length)
                var value = raw.reversed().reduce(0) { $0 << 8 | Int($1) }
                if length > 0 && length < 8 && raw.last! & 0x80 != 0 { value -= 1 << (8 * length) }
                stack.append(.int(value))
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4E: stack.append(.none)  // NONE
            case 0x47:  // BINFLOAT
                let bits = try take(8).reduce(0) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x8C: stack.append(.string(String(decoding: try take(try unsigned(1)), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x58: stack.append(.string(String(decoding: try take(try unsigned(4)), as: UTF8.self)))  // BINUNICODE
            case 0x85: stack.append(.tuple([try pop(at: offset)]))  // TUPLE1
            case 0x86:  // TUPLE2
                let second = try pop(at: offset)
                stack.append(.tuple([try pop(at: offset), second]))
            case 0x87:  // TUPLE3
                let third = try pop(at: offset)
                let second = try pop(at: offset)
                stack.append(.tuple([try pop(at: offset), second, third]))
            case 0x74: stack.append(.tuple(try popMark(at: offset)))  // TUPLE
            case 0x6C: stack.append(.list(try popMark(at: offset)))  // LIST
            case 0x61: try append([try pop(at: offset)], at: offset)  // APPEND
            case 0x65: try append(try popMark(at: offset), at: offset)  // APPENDS
            case 0x94:  // MEMOIZE
                guard let top = stack.last else { throw Pickle.DecodingError.malformed("MEMOIZE on an empty stack", offset: offset) }
                memo[memo.count] = top
            case 0x71: memo[try unsigned(1)] = stack.last  // BINPUT
            case 0x72: memo[try unsigned(4)] = stack.last  // LONG_BINPUT
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let key = try unsigned(opcode == 0x68 ? 1 : 4)
                guard let value = memo[key] else { throw Pickle.DecodingError.malformed("memo \(key) is empty", offset: offset) }
                stack.append(value)
            case 0x63 where allowedGlobals != nil:  // GLOBAL
                let module = try line()
                stack.append(try global(module, try line(), at: offset))
            case 0x93 where allowedGlobals != nil:  // STACK_GLOBAL
                guard case .string(let name) = try pop(at: offset), case .string(let module) = try pop(at: offset) else {
                    throw Pickle.DecodingError.malformed("STACK_GLOBAL needs two strings", offset: offset)
                }
                stack.append(try global(module, name, at: offset))
            case 0x52 where allowedGlobals != nil:  // REDUCE
                guard case .tuple(let arguments) = try pop(at: offset) else {
                    throw Pickle.DecodingError.malformed("REDUCE needs an argument tuple", offset: offset)
                }
                let callable = try pop(at: offset)
                guard case .global = callable else { throw Pickle.DecodingError.malformed("REDUCE of a non-global", offset: offset) }
                // An OrderedDict() becomes a dict that SETITEMS fill.
                stack.append(
                    callable == .global(module: "collections", name: "OrderedDict") && arguments.isEmpty
                        ? .dict([]) : .call(callable, arguments))
            case 0x81 where allowedGlobals != nil:  // NEWOBJ
                guard case .tuple(let arguments) = try pop(at: offset) else {
                    throw Pickle.DecodingError.malformed("NEWOBJ needs an argument tuple", offset: offset)
                }
                let cls = try pop(at: offset)
                guard case .global = cls else { throw Pickle.DecodingError.malformed("NEWOBJ of a non-global", offset: offset) }
                stack.append(.call(cls, arguments))
            case 0x62 where allowedGlobals != nil:  // BUILD
                let state = try pop(at: offset)
                let object = try pop(at: offset)
                // A dict keeps its items (OrderedDict's BUILD only sets attributes such as _metadata).
                if case .dict = object { stack.append(object) } else { stack.append(.built(object, state: state)) }
            case 0x51 where allowedGlobals != nil:  // BINPERSID
                stack.append(.persistent(try pop(at: offset)))
            case 0x7D where allowedGlobals != nil: stack.append(.dict([]))  // EMPTY_DICT
            case 0x64 where allowedGlobals != nil:  // DICT
                let items = try popMark(at: offset)
                stack.append(.dict([]))
                try setItems(items, at: offset)
            case 0x73 where allowedGlobals != nil:  // SETITEM
                let value = try pop(at: offset)
                let key = try pop(at: offset)
                try setItems([key, value], at: offset)
            case 0x75 where allowedGlobals != nil: try setItems(try popMark(at: offset), at: offset)  // SETITEMS
            case 0x43 where allowedGlobals != nil: stack.append(.bytes(Array(try take(try unsigned(1)))))  // SHORT_BINBYTES
            case 0x42 where allowedGlobals != nil: stack.append(.bytes(Array(try take(try unsigned(4)))))  // BINBYTES
            case 0x8D where allowedGlobals != nil: stack.append(.string(String(decoding: try take(try unsigned(8)), as: UTF8.self)))  // BINUNICODE8
            case 0x55 where allowedGlobals != nil: stack.append(.string(String(decoding: try take(try unsigned(1)), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x63: throw Pickle.DecodingError.disallowedOpcode(name: "GLOBAL", offset: offset)
            case 0x93: throw Pickle.DecodingError.disallowedOpcode(name: "STACK_GLOBAL", offset: offset)
            case 0x52: throw Pickle.DecodingError.disallowedOpcode(name: "REDUCE", offset: offset)
            case 0x62: throw Pickle.DecodingError.disallowedOpcode(name: "BUILD", offset: offset)
            case 0x69: throw Pickle.DecodingError.disallowedOpcode(name: "INST", offset: offset)
            case 0x6F: throw Pickle.DecodingError.disallowedOpcode(name: "OBJ", offset: offset)
            case 0x81: throw Pickle.DecodingError.disallowedOpcode(name: "NEWOBJ", offset: offset)
            case 0x92: throw Pickle.DecodingError.disallowedOpcode(name: "NEWOBJ_EX", offset: offset)
            case 0x50, 0x51: throw Pickle.DecodingError.disallowedOpcode(name: "PERSID", offset: offset)
            case 0x82, 0x83, 0x84: throw Pickle.DecodingError.disallowedOpcode(name: "EXT", offset: offset)
            default: throw Pickle.DecodingError.unknownOpcode(opcode, offset: offset)
            }
        }
    }
}
