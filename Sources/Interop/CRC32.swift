import CZlib
import Foundation

/// CRC-32 with ZIP's and zlib's polynomial (0xEDB88320), computed by zlib: what ZIP members (torch.save files)
/// carry, and what our checkpoint shards record per tensor. Python's `zlib.crc32` gives the same values.
enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `crc` (0 to start).
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var value = UInt(crc)
        var start = bytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
        var remaining = bytes.count
        while remaining > 0, let pointer = start {
            // zlib takes 32-bit lengths.
            let length = Swift.min(remaining, 1 << 30)
            value = CZlib.crc32(value, pointer, uInt(length))
            start = pointer + length
            remaining -= length
        }
        return UInt32(truncatingIfNeeded: value)
    }

    static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }

    /// Eight lower-case hex digits, as the shards' headers store it.
    static func hex(_ crc: UInt32) -> String {
        let digits = String(crc, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
