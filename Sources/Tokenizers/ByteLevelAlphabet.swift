/// GPT-2's reversible mapping of the 256 byte values onto printable Unicode characters, used by byte-level
/// BPE vocabularies ("Ġ" is the space byte).
enum ByteLevelAlphabet {
    /// The character for each byte value.
    static let characters: [Character] = {
        var printable: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var mapped = printable
        var next = 0
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            mapped.append(256 + next)
            next += 1
        }
        var table = [Character](repeating: " ", count: 256)
        for (byte, scalar) in zip(printable, mapped) { table[byte] = Character(Unicode.Scalar(UInt32(scalar))!) }
        return table
    }()

    /// The byte value of each mapped character.
    static let bytes: [Character: UInt8] = {
        var table: [Character: UInt8] = [:]
        for (byte, character) in characters.enumerated() { table[character] = UInt8(byte) }
        return table
    }()

    /// The bytes a vocabulary string stands for; nil when it has a character outside the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(token.count)
        for character in token {
            guard let byte = bytes[character] else { return nil }
            result.append(byte)
        }
        return result
    }

    static func encode(_ bytes: [UInt8]) -> String {
        String(bytes.map { characters[Int($0)] })
    }
}
