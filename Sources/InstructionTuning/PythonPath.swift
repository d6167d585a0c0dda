/// `pathlib.PurePosixPath` arithmetic that decides Modalities' output file names (`stem`, `suffixes`,
/// `with_name`, `with_suffix`), including its quirks, so prepared files are named as Modalities names them.
public struct PythonPath: Equatable, CustomStringConvertible, Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var description: String { path }

    public var name: String { path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? "" }

    /// The folder part; "." for a bare name, as pathlib has it.
    public var parent: PythonPath {
        guard let slash = path.lastIndex(of: "/") else { return PythonPath(".") }
        let head = String(path[..<slash])
        return PythonPath(head.isEmpty ? "/" : head)
    }

    public var suffix: String {
        let n = name
        guard let dot = n.lastIndex(of: "."), dot != n.startIndex, n.index(after: dot) != n.endIndex else { return "" }
        return String(n[dot...])
    }

    public var stem: String {
        let s = suffix
        return s.isEmpty ? name : String(name.dropLast(s.count))
    }

    public var suffixes: [String] {
        let n = name
        guard !n.hasSuffix(".") else { return [] }
        let parts = n.drop(while: { $0 == "." }).split(separator: ".", omittingEmptySubsequences: false)
        return parts.dropFirst().map { "." + $0 }
    }

    /// `self / component`, with pathlib's dropping of a leading "." folder.
    public func appending(_ component: String) -> PythonPath {
        path == "." ? PythonPath(component) : PythonPath(path.hasSuffix("/") ? path + component : path + "/" + component)
    }

    public func withName(_ newName: String) -> PythonPath { parent.appending(newName) }

    public func withSuffix(_ newSuffix: String) -> PythonPath { withName(stem + newSuffix) }
}
