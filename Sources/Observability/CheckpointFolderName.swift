/// The name of a checkpoint folder, as Modalities writes it:
/// `eid_<experiment id>-seen_steps_<s>-seen_tokens_<t>-target_steps_<S>-target_tokens_<T>`. A run's progress lives in
/// these names: the checkpoint writer makes them, the warmstart resolvers and the sweep runner read them back.
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

    /// The numbers a name carries.
    public enum Field: String, Sendable, CaseIterable {
        case seenSteps = "seen_steps", seenTokens = "seen_tokens", targetSteps = "target_steps", targetTokens = "target_tokens"
    }

    /// Why a path gave no number for a field.
    public struct ReadError: Error, CustomStringConvertible, Equatable {
        public var path: String
        /// The label looked for (`seen_steps`).
        public var label: String
        /// How many `<field>_<digits>` the path holds (one is needed).
        public var matches: Int

        public var description: String {
            "\(path): expected exactly one \(label)_<number> in the checkpoint path, found \(matches)"
        }
    }

    /// The number after `<field>_` in a checkpoint path, read as Modalities reads it (`re.findall(r"seen_steps_(\d+)",
    /// path)` with exactly one match), so folder names and Modalities' FSDP1 file names
    /// (`eid_x-model-seen_steps_11-seen_tokens_2816-….bin`) both work.
    public static func number(_ field: Field, inPath path: String) throws -> Int {
        try number(after: field.rawValue, inPath: path)
    }

    /// The number after `<label>_` in a path, for labels beside the four fields (Modalities' paths also carry
    /// `seen_samples`).
    public static func number(after label: String, inPath path: String) throws -> Int {
        let marker = label + "_"
        var matches: [Int] = []
        var rest = Substring(path)
        while let range = rest.range(of: marker) {
            let digits = rest[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
            if let number = Int(digits) { matches.append(number) }
            rest = rest[range.upperBound...]
        }
        guard matches.count == 1 else { throw ReadError(path: path, label: label, matches: matches.count) }
        return matches[0]
    }
}
