/// A model wrapper asked for what it cannot do, or given state of another layout.
public enum ParallelismError: Error, CustomStringConvertible, Equatable {
    /// The wrapper cannot wrap this model, or its settings are invalid.
    case invalidConfig(String)
    /// A whole tensor does not fit the sharded parameter it should fill.
    case mismatch(String)

    public var description: String {
        switch self {
        case .invalidConfig(let message), .mismatch(let message): return message
        }
    }
}
