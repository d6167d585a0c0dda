import Foundation

/// Writes TensorBoard event files (`events.out.tfevents.<time>.<host>`): TFRecord framing (length, masked
/// CRC-32C of the length, the serialized `Event` protobuf, its masked CRC-32C) with a `file_version` event first,
/// then one event per scalar (`Summary.Value{tag, simple_value}`).
public final class TensorBoardWriter {
    public let path: String
    private let handle: FileHandle

    public init(directory: String, now: Date = Date()) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ObservabilityError.unwritable(path: directory, reason: "cannot create it: \(error.localizedDescription)")
        }
        let host = ProcessInfo.processInfo.hostName
        path = "\(directory)/events.out.tfevents.\(Int(now.timeIntervalSince1970)).\(host)"
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ObservabilityError.unwritable(path: path, reason: "cannot create the event file")
        }
        self.handle = handle
        var event = ProtobufWriter()
        event.double(field: 1, now.timeIntervalSince1970)
        event.string(field: 3, "brain.Event:2")
        write(record: event.bytes)
    }

    /// Appends scalars for `step`, each under its tag.
    public func add(scalars: [(tag: String, value: Double)], step: Int, wallTime: Date = Date()) {
        var summary = ProtobufWriter()
        for (tag, value) in scalars {
            var entry = ProtobufWriter()
            entry.string(field: 1, tag)
            entry.float(field: 2, Float(value))
            summary.message(field: 1, entry.bytes)
        }
        var event = ProtobufWriter()
        event.double(field: 1, wallTime.timeIntervalSince1970)
        event.varint(field: 2, UInt64(bitPattern: Int64(step)))
        event.message(field: 5, summary.bytes)
        write(record: event.bytes)
    }

    public func flush() throws { try handle.synchronize() }

    private func write(record: [UInt8]) {
        var length = UInt64(record.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Array($0) }
        var frame = lengthBytes
        frame += Self.littleEndian(CRC32C.masked(lengthBytes))
        frame += record
        frame += Self.littleEndian(CRC32C.masked(record))
        handle.write(Data(frame))
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// Scalars in an event file, by tag: (step, value) in file order (for tests and quick looks).
    public static func readScalars(at path: String) throws -> [String: [(step: Int, value: Float)]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ObservabilityError.unreadable(path: path) }
        let bytes = [UInt8](data)
        var offset = 0
        var scalars: [String: [(step: Int, value: Float)]] = [:]
        var recordIndex = 0
        while offset < bytes.count {
            recordIndex += 1
            guard offset + 12 <= bytes.count else { throw ObservabilityError.malformed(path: path, line: recordIndex) }
            let lengthBytes = Array(bytes[offset..<(offset + 8)])
            let length = lengthBytes.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            let lengthCRC = bytes[(offset + 8)..<(offset + 12)].enumerated().reduce(UInt32(0)) {
                $0 | UInt32($1.element) << (8 * UInt32($1.offset))
            }
            guard lengthCRC == CRC32C.masked(lengthBytes), offset + 16 + length <= bytes.count else {
                throw ObservabilityError.malformed(path: path, line: recordIndex)
            }
            let record = Array(bytes[(offset + 12)..<(offset + 12 + length)])
            let dataCRC = bytes[(offset + 12 + length)..<(offset + 16 + length)].enumerated()
                .reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            guard dataCRC == CRC32C.masked(record) else { throw ObservabilityError.malformed(path: path, line: recordIndex) }
            offset += 16 + length
            var step = 0
            var values: [(String, Float)] = []
            for (field, value) in ProtobufReader.fields(record) {
                if field == 2, case .varint(let raw) = value { step = Int(Int64(bitPattern: raw)) }
                if field == 5, case .bytes(let summary) = value {
                    for (_, entry) in ProtobufReader.fields(summary) {
                        guard case .bytes(let valueBytes) = entry else { continue }
                        var tag = ""
                        var number: Float = .nan
                        for (key, item) in ProtobufReader.fields(valueBytes) {
                            if key == 1, case .bytes(let text) = item { tag = String(decoding: text, as: UTF8.self) }
                            if key == 2, case .fixed32(let raw) = item { number = Float(bitPattern: raw) }
                        }
                        values.append((tag, number))
                    }
                }
            }
            for (tag, value) in values { scalars[tag, default: []].append((step, value)) }
        }
        return scalars
    }
}

/// Writes the few protobuf wire types event files need.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func key(_ field: Int, _ wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }
    mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
    mutating func varint(field: Int, _ value: UInt64) {
        key(field, 0)
        appendVarint(value)
    }
    mutating func double(field: Int, _ value: Double) {
        key(field, 1)
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt64($0))) }
    }
    mutating func float(field: Int, _ value: Float) {
        key(field, 5)
        bytes += (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32($0))) }
    }
    mutating func message(field: Int, _ content: [UInt8]) {
        key(field, 2)
        appendVarint(UInt64(content.count))
        bytes += content
    }
    mutating func string(field: Int, _ text: String) { message(field: field, Array(text.utf8)) }
}

/// Reads protobuf fields (varint, 64-bit, length-delimited, 32-bit), enough to read event files back.
enum ProtobufReader {
    enum Value { case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32) }

    static func fields(_ bytes: [UInt8]) -> [(Int, Value)] {
        var result: [(Int, Value)] = []
        var index = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        while index < bytes.count, let key = varint() {
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: guard let value = varint() else { return result }; result.append((field, .varint(value)))
            case 1:
                guard index + 8 <= bytes.count else { return result }
                result.append(
                    (
                        field,
                        .fixed64(bytes[index..<(index + 8)].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
                    ))
                index += 8
            case 2:
                guard let length = varint(), index + Int(length) <= bytes.count else { return result }
                result.append((field, .bytes(Array(bytes[index..<(index + Int(length))]))))
                index += Int(length)
            case 5:
                guard index + 4 <= bytes.count else { return result }
                result.append(
                    (
                        field,
                        .fixed32(bytes[index..<(index + 4)].enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
                    ))
                index += 4
            default: return result
            }
        }
        return result
    }
}

/// CRC-32C (Castagnoli), as TFRecord framing uses it, with TensorFlow's masking.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82f6_3b78 : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xffff_ffff
    }

    static func masked(_ bytes: [UInt8]) -> UInt32 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }
}

/// Writes every result's values as TensorBoard scalars under `<dataloader tag>/<name>` (`results_subscriber/tensorboard`).
public final class TensorBoardResultSubscriber: ResultSubscriber {
    public let writer: TensorBoardWriter?

    public init(directory: String, globalRank: Int) throws {
        writer = globalRank == 0 ? try TensorBoardWriter(directory: directory) : nil
    }

    public func consume(_ result: EvaluationResult) throws {
        let values = result.losses + result.metrics + result.throughputMetrics
        writer?.add(scalars: values.map { ("\(result.dataloaderTag)/\($0.0)", $0.1.doubleValue) }, step: result.numTrainStepsDone)
    }

    public func finish() throws { try writer?.flush() }
}
