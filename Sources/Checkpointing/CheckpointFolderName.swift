/// The name of a checkpoint folder, as Modalities writes it:
/// `eid_<experiment id>-seen_steps_<s>-seen_tokens_<t>-target_steps_<S>-target_tokens_<T>`.
public struct CheckpointFolderName: Sendable, Equatable {
    public var experimentID: String
    public var seenSteps: Int
    public var seenTokens: Int
    public var targetSteps: Int
    public var targetTokens: Int

    public init(experimentID: String, seenSteps: Int, seenTokens: Int, targetSteps: Int, targetTokens: Int) {
        self.experimentID = experimentID
        self.seenSteps = seenSteps
        self.seenTokens = seenTokens
        self.targetSteps = targetSteps
        self.targetTokens = targetTokens
    }

    public var text: String {
        "eid_\(experimentID)-seen_steps_\(seenSteps)-seen_tokens_\(seenTokens)-target_steps_\(targetSteps)-target_tokens_\(targetTokens)"
    }
}
