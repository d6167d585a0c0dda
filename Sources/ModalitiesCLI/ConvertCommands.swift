import ArgumentParser
import Config
import Foundation
import Interop
import Launcher
import Models
import Tokenizers
import Torch

/// Loads a model from one of our checkpoint folders or a Hugging Face folder.
func loadModel(_ folder: String) throws -> GPT2LLM {
    CheckpointedModel.isCheckpoint(folder) ? try CheckpointedModel.load(folder: folder) : try HuggingFaceModelImport.load(folder: folder)
}

/// `modalities convert_to_hf`: a checkpoint of ours becomes a `transformers` model folder.
struct ConvertToHuggingFaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert_to_hf",
        abstract: "Export a checkpoint as a Hugging Face folder: GPT-2-form models as GPT2LMHeadModel, Llama-form as LlamaForCausalLM.")

    @Option(name: .customLong("checkpoint"), help: "A checkpoint folder written by `modalities run` (or a Hugging Face folder).")
    var checkpoint: String
    @Option(name: .customLong("output"), help: "The folder to write (config.json, generation_config.json, safetensors, tokenizer).")
    var output: String
    @Option(name: .customLong("tokenizer"), help: "tokenizer.json (or its folder) to ship with the model.")
    var tokenizer: String?
    @Option(name: .customLong("eos_token_id"), help: "The id generation stops at (default: the tokenizer's <|endoftext|> or </s>).")
    var endOfText: Int?
    @Option(name: .customLong("max_shard_size"), help: "Largest safetensors shard in bytes; bigger models get an index.")
    var maximumShardBytes = 5_000_000_000

    func run() throws {
        do {
            let model = try loadModel(checkpoint)
            var eos = endOfText
            if eos == nil, let tokenizer {
                let loaded = try HuggingFaceTokenizerLoader.load(tokenizer)
                eos = loaded.tokenID("<|endoftext|>") ?? loaded.tokenID("</s>")
            }
            try HuggingFaceExport.write(model, to: output, tokenizer: tokenizer, endOfText: eos, maximumShardBytes: maximumShardBytes)
            print("wrote \(output) (\(model.parameterCount) parameters)")
        } catch let error as InteropError {
            note("error: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `modalities model_logits`: the logits a model gives for token ids, as JSON (for parity checks against
/// `transformers`).
struct ModelLogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model_logits",
        abstract: "Print a model's logits for token ids as JSON ([position][vocabulary]), e.g. to compare with transformers.")

    @Option(name: .customLong("model"), help: "A checkpoint folder of ours or a Hugging Face folder.")
    var model: String
    @Option(name: .customLong("prompt_ids"), help: "Token ids, comma-separated.")
    var promptIDs: String

    func run() throws {
        let ids = promptIDs.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.count == promptIDs.split(separator: ",").count else {
            throw ValidationError("--prompt_ids must be integers separated by commas")
        }
        let network = try loadModel(model)
        let logits = try Autograd.noGrad { try network(Tensor(ids, shape: [1, ids.count])) }
        let values = try logits.toArray(Float.self)
        let vocabulary = logits.size(-1)
        let rows = (0..<ids.count).map { position in
            "[" + values[(position * vocabulary)..<((position + 1) * vocabulary)].map { "\($0)" }.joined(separator: ", ") + "]"
        }
        print("[" + rows.joined(separator: ",\n") + "]")
    }
}

/// Modalities' `convert_pytorch_to_hf_checkpoint`, with its flags.
struct ConvertPyTorchToHuggingFaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert_pytorch_to_hf_checkpoint",
        abstract: "Convert the checkpointed model a Modalities config declares (torch.save .bin or DCP folder) to a Hugging Face folder.")

    @Option(name: .customLong("config_file_path"), help: "The config whose checkpointed_model (or model) to convert.")
    var configFilePath: String
    @Option(name: .customLong("output_hf_checkpoint_dir"), help: "The Hugging Face folder to write.")
    var output: String
    @Option(name: .customLong("prediction_key"), help: "The model output holding the logits.")
    var predictionKey: String

    func run() throws {
        do {
            let model = try CheckpointConversion.convert(
                configFilePath: configFilePath, outputFolder: output, predictionKey: predictionKey,
                environment: ProcessEnvironment.variables)
            print("Model was successfully converted and saved to \(output) (\(model.parameterCount) parameters)")
        } catch let error as ConfigError {
            for issue in error.issues { note(issue.description) }
            throw ExitCode(2)
        } catch {
            note("error: \(error)")
            throw ExitCode(1)
        }
    }
}
