import Checkpointing
import Components
import Config
import Foundation
import Models

/// Rebuilds the model a checkpoint of ours was trained with, from the resolved config stored in its metadata,
/// and loads the saved parameters into it (for `generate_text --model <checkpoint folder>` and `convert_to_hf`).
/// The model is the config's top-level `model/gpt2`, or its `model/huggingface_pretrained_model` (fine-tuning an
/// imported model), whose shape comes from that Hugging Face folder's config.json, which must still be there.
public enum CheckpointedModel {
    public static func load(folder: String, registry: ComponentRegistry = .builtIn()) throws -> GPT2LLM {
        let reader = try CheckpointReader(folder: folder)
        guard let text = reader.metadata["resolved_config"] as? String else {
            throw CheckpointError.unreadable(
                path: folder + "/metadata.json", reason: "it holds no resolved_config to rebuild the model from")
        }
        let root = try ConfigLoader.parse(text, file: folder + "/metadata.json#resolved_config")
        let variants = ["gpt2", "huggingface_pretrained_model"]
        let candidates = root.keys.filter { key in
            root[key]?["component_key"]?.scalarText == "model" && variants.contains(root[key]?["variant_key"]?.scalarText ?? "")
        }
        guard candidates.count == 1, let key = candidates.first else {
            throw CheckpointError.unreadable(
                path: folder,
                reason:
                    "its config has \(candidates.count) top-level model/gpt2 or model/huggingface_pretrained_model components; expected one"
            )
        }
        guard let model = try ObjectGraph(root: root, registry: registry).build(key, as: (any Model).self) as? GPT2LLM else {
            throw CheckpointError.unreadable(path: folder, reason: "its model is not a GPT2LLM")
        }
        try reader.loadParameters(into: model)
        return model
    }

    /// Whether `folder` looks like a checkpoint of ours (it has our metadata file).
    public static func isCheckpoint(_ folder: String) -> Bool { CheckpointReader.isCheckpoint(folder) }
}
