import Config

/// The set of top-level keys a command builds (Modalities' instantiation models).
public enum InstantiationModel: String, CaseIterable, Sendable {
    case run
    case warmstart
    case generateText = "generate_text"
    case packEncodedData = "pack_encoded_data"
    case prepareInstructionTuningData = "prepare_instruction_tuning_data"
    /// `profile distributed`: a steppable component and the profiler that measures it.
    case profile

    /// Top-level keys the command needs.
    public var requiredKeys: [String] {
        switch self {
        case .run, .warmstart:
            return TrainingComponentKey.allCases.filter { !$0.isOptional }.map(\.rawValue)
        case .generateText:
            return ["text_inference_component", "settings"]
        case .packEncodedData:
            return ["tokenizer", "settings"]
        case .prepareInstructionTuningData:
            return ["settings", "instruction_data_transformation", "jinja2_chat_template", "chat_template_data"]
        case .profile:
            return ["steppable_component", "profiler"]
        }
    }

    /// Top-level keys the command uses when present.
    public var optionalKeys: [String] {
        switch self {
        case .run, .warmstart: return TrainingComponentKey.allCases.filter(\.isOptional).map(\.rawValue)
        case .generateText, .packEncodedData, .prepareInstructionTuningData, .profile: return []
        }
    }

    /// The model a config's keys suggest: training unless it has the keys of another command.
    public static func inferred(from root: ConfigNode) -> InstantiationModel {
        let keys = Set(root.keys)
        if keys.contains("text_inference_component") { return .generateText }
        if keys.contains("jinja2_chat_template") { return .prepareInstructionTuningData }
        if keys.contains("steppable_component") { return .profile }
        if keys.contains("tokenizer"), root["settings"]?["src_path"] != nil { return .packEncodedData }
        if root["settings"]?["warmstart_checkpoint_paths"] != nil { return .warmstart }
        return .run
    }
}
