/// An open-addressing hash table from pair keys to packed (rank, merged id) values: the BPE hot loop's only
/// lookup, several times faster than `Dictionary` with its seeded SipHash.
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64
    private let mask: Int
    /// A key no real pair uses (ids are below 2^31).
    private static let empty = UInt64.max

    init(_ entries: [UInt64: UInt64]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: capacity)
        values = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        for (key, value) in entries {
            var slot = slotFor(key)
            while keys[slot] != Self.empty { slot = (slot + 1) & mask }
            keys[slot] = key
            values[slot] = value
        }
    }

    var count: Int { keys.reduce(0) { $0 + ($1 == Self.empty ? 0 : 1) } }

    @inline(__always)
    private func slotFor(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    subscript(key: UInt64) -> UInt64? {
        var slot = slotFor(key)
        while true {
            let stored = keys[slot]
            if stored == key { return values[slot] }
            if stored == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
    }
}
