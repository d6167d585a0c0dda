// The one type ZipArchive.swift needs from the rest of Interop, with the cases it throws.
enum InteropError: Error {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupported(path: String, feature: String)
}

/// Entry points for the evaluation (the shipped types are internal to their modules).
public enum Ours {
    public static func sha256(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }

    /// Opens a ZIP file and reads every member, CRC-checked; returns the bytes read.
    public static func readZip(path: String) throws -> Int {
        let archive = try ZipArchive(path: path)
        var total = 0
        for member in archive.members.values { total += try archive.bytes(of: member).count }
        return total
    }
}
