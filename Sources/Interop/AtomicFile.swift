import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Files written so that a reader sees either the old content or the new one, never a torn file: the bytes go
/// to a temporary name in the same folder, are flushed to disk (`fsync`), then renamed over the final name, and
/// the folder itself is flushed so the rename survives a crash.
public enum AtomicFile {
    /// Writes the chunks `write` produces to `path` atomically.
    ///
    /// - Parameter write: called once with a sink; each call of the sink appends bytes.
    public static func write(to path: String, _ write: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".partial-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw InteropError.unwritable(path: path, reason: String(cString: strerror(errno))) }
        var closed = false
        defer {
            if !closed { close(descriptor) }
        }
        do {
            try write { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw InteropError.unwritable(path: path, reason: String(cString: strerror(errno)))
                    }
                    offset += written
                }
            }
            guard fsync(descriptor) == 0 else {
                throw InteropError.unwritable(path: path, reason: "fsync: " + String(cString: strerror(errno)))
            }
            closed = true
            guard close(descriptor) == 0 else {
                throw InteropError.unwritable(path: path, reason: "close: " + String(cString: strerror(errno)))
            }
            guard rename(temporary, path) == 0 else {
                throw InteropError.unwritable(path: path, reason: "rename: " + String(cString: strerror(errno)))
            }
        } catch {
            unlink(temporary)
            throw error
        }
        syncFolder(folder)
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { sink in try data.withUnsafeBytes { try sink($0) } }
    }

    /// Flushes a folder's entries (new names, renames) to disk.
    public static func syncFolder(_ folder: String) {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
