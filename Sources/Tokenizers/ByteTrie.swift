/// A trie over byte strings with an integer value per key; one flat table keyed by (node, byte).
struct ByteTrie: Sendable {
    private var children: [UInt64: Int32] = [:]
    private var values: [Int32] = [-1]

    init() {}

    mutating func insert(_ key: some Sequence<UInt8>, value: Int) {
        var node: Int32 = 0
        for byte in key {
            let slot = UInt64(UInt32(node)) << 8 | UInt64(byte)
            if let child = children[slot] {
                node = child
            } else {
                let child = Int32(values.count)
                values.append(-1)
                children[slot] = child
                node = child
            }
        }
        values[Int(node)] = Int32(value)
    }

    var isEmpty: Bool { children.isEmpty }

    /// Calls `body(length, value)` for every key that is a prefix of `bytes[start...]`, shortest first.
    func forEachPrefix(of bytes: [UInt8], from start: Int, _ body: (Int, Int) -> Void) {
        var node: Int32 = 0
        var index = start
        while index < bytes.count, let child = children[UInt64(UInt32(node)) << 8 | UInt64(bytes[index])] {
            node = child
            index += 1
            let value = values[Int(node)]
            if value >= 0 { body(index - start, Int(value)) }
        }
    }

    /// The longest key that is a prefix of `bytes[start...]`: its length and value.
    func longestPrefix(of bytes: [UInt8], from start: Int) -> (length: Int, value: Int)? {
        var best: (Int, Int)?
        forEachPrefix(of: bytes, from: start) { best = ($0, $1) }
        return best
    }
}
