import Foundation

/// Hands a fuzzer's input to readers that take a path: the bytes are written to one file per process in
/// /dev/shm (memory, so a million iterations do not touch a disk).
enum FuzzInput {
    static func write(_ data: UnsafePointer<UInt8>?, _ size: Int, name: String) -> String {
        let folder = "/dev/shm/modalities-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/" + name
        let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
        try? bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }
}
