/// An error raised by the engine binding.
public enum TorchError: Error, CustomStringConvertible, Equatable {
    /// libtorch refused an operation; `message` is libtorch's own text.
    case libtorch(operation: String, message: String)
    /// The libtorch loaded at run time is not the one the shim was compiled against.
    case versionMismatch(compiled: String, runtime: String)
    /// A value read back into Swift does not fit the requested element type.
    case dtypeMismatch(expected: DType, found: DType)
    /// An argument given from Swift is invalid before libtorch sees it.
    case invalidArgument(String)
    /// A Swift closure run from inside libtorch (a hook or a custom backward) threw.
    case callbackFailed(String)

    public var description: String {
        switch self {
        case let .libtorch(operation, message):
            return "\(operation): \(message)"
        case let .versionMismatch(compiled, runtime):
            return """
                libtorch version mismatch: the shim was compiled against \(compiled) but libtorch \(runtime) was \
                loaded. Rebuild the shim against the libtorch you run with: `make shim LIBTORCH=/path/to/libtorch` \
                (or unset LIBTORCH to use the pinned 2.11.0 copy that `scripts/setup-libtorch` fetches).
                """
        case let .dtypeMismatch(expected, found):
            return "expected a tensor of dtype \(expected), found \(found)"
        case let .invalidArgument(message):
            return message
        case let .callbackFailed(message):
            return message
        }
    }
}
