import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped copy-on-write (`MAP_PRIVATE`, readable and writable): tensors can point into it without a
/// copy, and a tensor written in place changes only this process's private pages, never the file.
final class MappedFile: @unchecked Sendable {  // immutable after creation; pages are private to the process
    let path: String
    let base: UnsafeMutableRawPointer?
    let count: Int

    init(path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw InteropError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw InteropError.unreadable(path: path, reason: "not a regular file")
        }
        count = Int(status.st_size)
        self.path = path
        guard count > 0 else {
            base = nil
            return
        }
        let address = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw InteropError.unreadable(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        base = address
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// The bytes in `range`, copied.
    func data(_ range: Range<Int>) -> Data {
        guard let base, range.lowerBound >= 0, range.upperBound <= count, !range.isEmpty else { return Data() }
        return Data(bytes: base + range.lowerBound, count: range.count)
    }
}
