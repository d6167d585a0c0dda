import Checkpointing
import Config
import Foundation

/// Turns a run config into one that continues from a checkpoint of that run (`modalities run
/// --resume_from_checkpoint`), so a run config is enough to resume; Modalities needs a separate warmstart config.
///
/// The changes: `settings.training_progress` gets the checkpoint's seen steps and tokens, and the samples they
/// cover (`num_seen_samples` = tokens / sequence length, what the resumable sampler skips); the top-level
/// `app_state` (an `app_state/raw`) becomes an `app_state/dcp` that loads the checkpoint into it, restoring
/// parameters, optimizer, scheduler position and random state. The target stays the config's.
public enum RunResumption {
    public static func config(_ root: ConfigNode, resumingFrom checkpoint: String, environment: ResolverEnvironment) throws -> ConfigNode {
        let reader = try CheckpointReader(folder: checkpoint)
        let progress = reader.trainingProgress
        guard let steps = progress["num_seen_steps"], let tokens = progress["num_seen_tokens"] else {
            throw LaunchError.invalid("\(checkpoint): its metadata records no training progress")
        }
        guard let appState = root["app_state"].flatMap(ComponentNode.init) else {
            throw LaunchError.invalid("\(root.location.file): resuming needs a top-level app_state component")
        }
        guard appState.componentKey == "app_state", appState.variantKey == "raw" else {
            throw LaunchError.invalid(
                "\(root.location.file): app_state is app_state/\(appState.variantKey); resuming replaces an app_state/raw (a warmstart config is run with `modalities warmstart`)"
            )
        }
        let resolved = try ConfigInterpolator(environment: environment).resolve(root)
        guard let text = resolved[path: ["settings", "step_profile", "sequence_length"]]?.scalarText, let sequenceLength = Int(text),
            sequenceLength > 0
        else {
            throw LaunchError.invalid("\(root.location.file): resuming needs settings.step_profile.sequence_length")
        }
        var edited = root
        for (key, value) in [("num_seen_steps", steps), ("global_num_seen_tokens", tokens), ("num_seen_samples", tokens / sequenceLength)]
        where root[path: ["settings", "training_progress", key]] != nil {
            edited = edited.setting(path: ["settings", "training_progress", key], to: .scalar(String(value)))
        }
        let loading = ConfigNode.mapping(
            [
                ("component_key", .scalar("app_state")),
                ("variant_key", .scalar("dcp")),
                ("config", .mapping([("raw_app_state", appState.node), ("checkpoint_dir_path", .scalar(checkpoint, quoted: true))])),
            ], at: appState.node.location)
        return edited.setting("app_state", to: loading)
    }
}
