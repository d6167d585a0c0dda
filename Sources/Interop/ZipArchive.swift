import Foundation

/// The stored (uncompressed) members of a ZIP archive, as `torch.save` writes them; zip64 sizes included.
/// Compressed members are refused: torch never compresses, so one means the file is something else.
struct ZipArchive {
    struct Member {
        var name: String
        var dataOffset: Int
        var size: Int
        /// The CRC-32 the central directory records for the member's bytes.
        var crc32: UInt32
    }

    let path: String
    let data: Data
    let members: [String: Member]

    init(path: String) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw InteropError.unreadable(path: path, reason: "no such file or not readable")
        }
        try self.init(data: data, path: path)
    }

    /// An archive held in memory (DCP stores each item as a small torch.save archive inside a bigger file).
    init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        let bytes = data
        func integer(_ offset: Int, _ size: Int) throws -> Int {
            guard offset >= 0, offset + size <= bytes.count else {
                throw InteropError.malformed(path: path, reason: "ZIP structure runs past the end of the file")
            }
            return bytes[(bytes.startIndex + offset)..<(bytes.startIndex + offset + size)].reversed().reduce(0) { $0 << 8 | Int($1) }
        }
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
        let searchStart = Swift.max(0, bytes.count - 65_557)
        var end = -1
        var position = bytes.count - 22
        while position >= searchStart {
            if try integer(position, 4) == 0x0605_4b50 { end = position; break }
            position -= 1
        }
        guard end >= 0 else {
            throw InteropError.malformed(
                path: path, reason: "not a ZIP archive (no end of central directory); torch.save files are ZIP archives")
        }
        var count = try integer(end + 10, 2)
        var directory = try integer(end + 16, 4)
        if count == 0xFFFF || directory == 0xFFFF_FFFF {
            // zip64: the locator just before the record points at the zip64 end record.
            guard end >= 20, try integer(end - 20, 4) == 0x0706_4b50 else {
                throw InteropError.malformed(path: path, reason: "zip64 locator missing")
            }
            let record = try integer(end - 20 + 8, 8)
            guard try integer(record, 4) == 0x0606_4b50 else {
                throw InteropError.malformed(path: path, reason: "zip64 end record missing")
            }
            count = try integer(record + 32, 8)
            directory = try integer(record + 48, 8)
        }
        guard count < 10_000_000 else { throw InteropError.malformed(path: path, reason: "\(count) ZIP members") }
        var members: [String: Member] = [:]
        var cursor = directory
        for _ in 0..<count {
            guard try integer(cursor, 4) == 0x0201_4b50 else {
                throw InteropError.malformed(path: path, reason: "broken ZIP central directory at byte \(cursor)")
            }
            let method = try integer(cursor + 10, 2)
            let crc = UInt32(try integer(cursor + 16, 4))
            var size = try integer(cursor + 20, 4)
            let nameLength = try integer(cursor + 28, 2)
            let extraLength = try integer(cursor + 30, 2)
            let commentLength = try integer(cursor + 32, 2)
            var localHeader = try integer(cursor + 42, 4)
            guard cursor + 46 + nameLength <= bytes.count else {
                throw InteropError.malformed(path: path, reason: "ZIP member name runs past the end")
            }
            let name = String(
                decoding: bytes[(bytes.startIndex + cursor + 46)..<(bytes.startIndex + cursor + 46 + nameLength)], as: UTF8.self)
            // zip64 extra field: sizes and offset that did not fit 32 bits, in this order.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try integer(extra, 2)
                let length = try integer(extra + 2, 2)
                if id == 0x0001 {
                    var field = extra + 4
                    if size == 0xFFFF_FFFF { size = try integer(field + 8, 8); field += 16 }  // uncompressed follows compressed
                    if localHeader == 0xFFFF_FFFF { localHeader = try integer(field, 8) }
                }
                extra += 4 + length
            }
            guard method == 0 else { throw InteropError.unsupported(path: path, feature: "compressed ZIP member \(name)") }
            guard try integer(localHeader, 4) == 0x0403_4b50 else {
                throw InteropError.malformed(path: path, reason: "ZIP member \(name) has no local header")
            }
            let dataOffset = localHeader + 30 + (try integer(localHeader + 26, 2)) + (try integer(localHeader + 28, 2))
            guard dataOffset >= 0, size >= 0, dataOffset + size <= bytes.count else {
                throw InteropError.malformed(path: path, reason: "ZIP member \(name) runs past the end of the file")
            }
            members[name] = Member(name: name, dataOffset: dataOffset, size: size, crc32: crc)
            cursor += 46 + nameLength + extraLength + commentLength
        }
        self.members = members
    }

    /// The member's bytes, checked against the CRC-32 the archive records for them.
    func bytes(of member: Member) throws -> Data {
        let bytes = data[(data.startIndex + member.dataOffset)..<(data.startIndex + member.dataOffset + member.size)]
        let computed = CRC32.checksum(bytes)
        guard computed == member.crc32 else {
            throw InteropError.malformed(
                path: path,
                reason:
                    "ZIP member \(member.name) is corrupted: its CRC-32 is \(CRC32.hex(computed)), the archive recorded \(CRC32.hex(member.crc32))"
            )
        }
        return bytes
    }
}
