/// A checkpoint that cannot be written or read, naming the file or entry.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unwritable(path: String, reason: String)
    case unreadable(path: String, reason: String)
    case mismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unwritable(path, reason): return "\(path): cannot write the checkpoint: \(reason)"
        case let .unreadable(path, reason): return "\(path): cannot read the checkpoint: \(reason)"
        case let .mismatch(path, reason): return "\(path): the checkpoint does not fit: \(reason)"
        }
    }
}
