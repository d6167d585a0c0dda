/// A training component configured wrongly.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case invalidCheckpoint(String)
    /// The training data ran out before the target: batches delivered and batches needed.
    case dataExhausted(loader: String, delivered: Int, needed: Int)

    public var description: String {
        switch self {
        case .invalidConfig(let message): return message
        case .invalidCheckpoint(let message): return message
        case let .dataExhausted(loader, delivered, needed):
            return
                "the data loader '\(loader)' ran out after \(delivered) micro batches, but reaching the training target needs \(needed); lower num_target_tokens / num_target_steps or use more data"
        }
    }
}
