import ArgumentParser
import Components
import Config
import Foundation
import Interop
import Launcher
import ModalitiesSchema
import Models
import Tokenizers
import Torch

/// `modalities generate_text`: decode from a model folder, streaming tokens as they come.
struct GenerateTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate_text",
        abstract: "Generate text with a model: greedy or sampled, KV cache, stop at EOS; prompts from the command line or interactively.",
        aliases: ["generate-text"]
    )

    @Option(
        name: .customLong("model"),
        help: "A checkpoint folder of ours, or a Hugging Face Llama model folder (config.json + model.safetensors).")
    var model: String?
    @Option(name: .customLong("config_file_path"), help: "Modalities' text-generation config (text_inference_component + settings).")
    var configFilePath: String?
    @Option(
        name: .customLong("tokenizer"), help: "tokenizer.json, a tokenizer folder or a SentencePiece .model (default: the model folder).")
    var tokenizerPath: String?
    @Option(help: "Prompt text (needs a tokenizer).") var prompt: String?
    @Option(name: .customLong("prompt_ids"), help: "Prompt token ids, comma-separated.") var promptIDs: String?
    @Option(name: .customLong("max_new_tokens")) var maxNewTokens = 64
    @Flag(help: "Always take the most likely token (the default unless --temperature is given).") var greedy = false
    @Option var temperature: Double?
    @Option(name: .customLong("top_k")) var topK: Int?
    @Option(name: .customLong("top_p")) var topP: Double?
    @Option var seed: UInt64 = 0
    @Option(help: "cpu, cuda or cuda:N: where the model runs (sampling stays on the CPU).") var device = "cpu"
    @Flag(name: .customLong("print_ids"), help: "Print the prompt ids and the generated ids as one comma-separated line.")
    var printIDs = false

    func validate() throws {
        if configFilePath != nil {
            guard model == nil else { throw ValidationError("give --config_file_path or --model, not both") }
            return
        }
        guard model != nil else { throw ValidationError("give --model (a checkpoint folder or a Hugging Face Llama folder)") }
        _ = try DeviceArgument.parse(device)
        if prompt != nil && promptIDs != nil { throw ValidationError("give --prompt or --prompt_ids, not both") }
        if greedy && temperature != nil { throw ValidationError("--greedy and --temperature exclude each other") }
        try Self.checkSampling(maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP)
    }

    /// Sampling settings that cannot be honoured are refused with the flag's name, before anything loads.
    static func checkSampling(maxNewTokens: Int, temperature: Double?, topK: Int?, topP: Double?) throws {
        guard maxNewTokens >= 1 else { throw ValidationError("--max_new_tokens must be 1 or more, found \(maxNewTokens)") }
        if let temperature, !(temperature > 0 && temperature.isFinite) {
            throw ValidationError(
                "--temperature must be a finite number greater than 0, found \(temperature) (--greedy takes the most likely token)")
        }
        if let topK, topK < 1 { throw ValidationError("--top_k must be 1 or more, found \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top_p must be in (0, 1], found \(topP)") }
    }

    func run() throws {
        if let configFilePath { return try runConfig(configFilePath) }
        let folder = model!
        let target: Device
        do { target = try DeviceArgument.prepare(DeviceArgument.parse(device)) } catch {
            throw ValidationError("--device \(device): \(error)")
        }
        let network = try loadModel(folder).moved(to: target)
        let tokenizer = try loadTokenizer(folder: folder)
        let sampling = greedy ? TextGenerator.Sampling.greedy : TextGenerator.Sampling(temperature: temperature, topK: topK, topP: topP)
        let generator = TextGenerator(model: network, sampling: sampling)
        let endOfText = readEndOfText(folder: folder, tokenizer: tokenizer)
        if let ids = try promptIDList() {
            try generate(ids, with: generator, tokenizer: tokenizer, endOfText: endOfText)
            return
        }
        guard let tokenizer else { throw ValidationError("no tokenizer found; give --tokenizer or use --prompt_ids") }
        if let prompt {
            try generate(tokenizer.encode(prompt), with: generator, tokenizer: tokenizer, endOfText: endOfText)
            return
        }
        print("Enter a prompt (end with Ctrl-D):")
        while let line = readLine() {
            try generate(tokenizer.encode(line), with: generator, tokenizer: tokenizer, endOfText: endOfText)
        }
    }

    /// Modalities' form: build `text_inference_component` from the config and run it.
    private func runConfig(_ path: String) throws {
        let validator = ConfigValidator.builtIn(
            environment: ResolverEnvironment(configFilePath: path, experimentID: "generate_text", variables: ProcessEnvironment.variables),
            log: note)
        let component: TextInferenceComponent
        do {
            let result = try validator.validate(file: path, for: .generateText)
            component = try result.graph.build("text_inference_component", as: TextInferenceComponent.self)
        } catch let error as ConfigError {
            for issue in error.issues { note(issue.description) }
            throw ExitCode(2)
        }
        let text = try component.prompt { name in
            FileHandle.standardOutput.write(Data("\(name): ".utf8))
            return readLine()
        }
        let output = FileHandle.standardOutput
        output.write(Data("--------------------OUTPUT--------------------\n".utf8))
        try component.generate(text, seed: seed) { piece in output.write(Data(piece.utf8)) }
        output.write(Data("\n".utf8))
    }

    private func promptIDList() throws -> [Int]? {
        guard let promptIDs else { return nil }
        let ids = promptIDs.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--prompt_ids must be integers separated by commas, got '\(promptIDs)'")
        }
        return ids.map { $0! }
    }

    private func generate(_ prompt: [Int], with generator: TextGenerator, tokenizer: (any Tokenizer)?, endOfText: Int?) throws {
        var generated: [Int] = []
        var printed = ""
        let ids = try generator.generate(prompt: prompt, maxNewTokens: maxNewTokens, endOfText: endOfText, seed: seed) { token in
            generated.append(token)
            guard !printIDs, let tokenizer else { return }
            let text = tokenizer.decode(generated)
            if text.hasPrefix(printed) {
                // Written straight to the descriptor, so each token shows as soon as it is decoded.
                FileHandle.standardOutput.write(Data(text.dropFirst(printed.count).utf8))
                printed = text
            }
        }
        if printIDs || tokenizer == nil {
            print((prompt + ids).map(String.init).joined(separator: ","))
        } else {
            print("")
        }
    }

    private func loadTokenizer(folder: String) throws -> (any Tokenizer)? {
        if let tokenizerPath {
            return tokenizerPath.hasSuffix(".model")
                ? try SentencePieceTokenizer(path: tokenizerPath) : try HuggingFaceTokenizerLoader.load(tokenizerPath)
        }
        let candidates = ["tokenizer.json", "vocab.json"].map { URL(fileURLWithPath: folder).appendingPathComponent($0).path }
        guard candidates.contains(where: FileManager.default.fileExists(atPath:)) else { return nil }
        return try HuggingFaceTokenizerLoader.load(folder)
    }

    private func readEndOfText(folder: String, tokenizer: (any Tokenizer)?) -> Int? {
        if CheckpointedModel.isCheckpoint(folder) { return tokenizer?.tokenID("<|endoftext|>") ?? tokenizer?.tokenID("</s>") }
        let path = URL(fileURLWithPath: folder).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path),
            let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return config["eos_token_id"] as? Int
    }
}
