import Components
import Config
import Foundation
import Interop
import Models
import Training

/// Modalities' `convert_pytorch_to_hf_checkpoint`: builds the checkpointed model a config declares
/// (`checkpointed_model`, else `model` or `model_raw`, e.g. `model/fsdp1_checkpointed` over a `.bin` file or a DCP
/// folder) and writes it as a standard `transformers` folder (GPT2LMHeadModel or LlamaForCausalLM).
public enum CheckpointConversion {
    public static func convert(
        configFilePath: String, outputFolder: String, predictionKey: String,
        environment: [String: String]
    ) throws -> GPT2LLM {
        let root = try ConfigLoader.load(file: configFilePath)
        let resolverEnvironment = ResolverEnvironment(
            configFilePath: configFilePath, experimentID: ExperimentID.make(configFilePath: configFilePath),
            variables: environment)
        let resolved = try ConfigInterpolator(environment: resolverEnvironment).resolve(root)
        guard let key = ["checkpointed_model", "model", "model_raw"].first(where: { resolved[$0] != nil }) else {
            throw LaunchError.invalid("\(configFilePath): no checkpointed_model, model or model_raw to convert")
        }
        let built = try ObjectGraph(root: resolved, registry: .builtIn()).build(key, as: (any Model).self)
        guard let model = built.unwrapped(as: GPT2LLM.self) else {
            throw LaunchError.invalid("\(configFilePath): \(key) is not a GPT2LLM; only those convert")
        }
        guard model.predictionKey == predictionKey else {
            throw LaunchError.invalid("--prediction_key \(predictionKey) is not the model's prediction key (\(model.predictionKey))")
        }
        try HuggingFaceExport.write(model, to: outputFolder)
        return model
    }
}
