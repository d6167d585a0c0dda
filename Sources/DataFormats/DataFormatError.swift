/// A data file that cannot be read or written, with the file and the place in it.
public enum DataFormatError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case invalidLine(path: String, line: Int, reason: String)
    case exists(path: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .malformed(path, reason): return "\(path): \(reason)"
        case let .invalidLine(path, line, reason): return "\(path):\(line): \(reason)"
        case let .exists(path): return "\(path) exists already (use --file_existence_policy override or skip)"
        case let .unwritable(path, reason): return "\(path): cannot write: \(reason)"
        }
    }
}

/// What to do when an output file exists (Modalities' `file_existence_policy`).
public enum FileExistencePolicy: String, Sendable, CaseIterable {
    case skip, error, override
}
