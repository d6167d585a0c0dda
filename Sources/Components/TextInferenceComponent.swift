import Config
import Foundation
import Models
import Tokenizers
import Torch
import Training

/// Modalities' `inference_component/text` (what `generate_text --config_file_path` runs): asks for the prompt
/// template's `{variables}`, then streams a continuation up to `sequence_length` tokens, greedy at temperature 0,
/// sampled otherwise, stopping at the end-of-document token.
public final class TextInferenceComponent {
    public let model: GPT2LLM
    public let tokenizer: any Tokenizer
    public let promptTemplate: String
    public let sequenceLength: Int
    public let temperature: Double
    public let endOfDocument: String

    init(model: GPT2LLM, tokenizer: any Tokenizer, promptTemplate: String, sequenceLength: Int, temperature: Double, endOfDocument: String)
    {
        self.model = model
        self.tokenizer = tokenizer
        self.promptTemplate = promptTemplate
        self.sequenceLength = sequenceLength
        self.temperature = temperature
        self.endOfDocument = endOfDocument
    }

    /// The template with each `{name}` replaced by `answer(name)`.
    public func prompt(answer: (String) -> String?) throws -> String {
        var result = ""
        var rest = Substring(promptTemplate)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            guard let value = answer(name) else { throw TrainingError.invalidConfig("no value for {\(name)} of the prompt template") }
            result += value
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        guard !result.isEmpty else { throw TrainingError.invalidConfig("the prompt is empty") }
        return result
    }

    /// Generates a continuation of `prompt`, handing each new piece of text to `write`; returns the generated ids.
    @discardableResult
    public func generate(_ prompt: String, seed: UInt64 = 0, write: (String) -> Void) throws -> [Int] {
        let ids = tokenizer.encode(prompt)
        let budget = sequenceLength - ids.count
        guard budget > 0 else {
            throw TrainingError.invalidConfig("the prompt has \(ids.count) tokens, sequence_length is \(sequenceLength)")
        }
        let sampling: TextGenerator.Sampling = temperature > 0 ? .init(temperature: temperature) : .greedy
        let endID = tokenizer.tokenID(endOfDocument)
        var generated: [Int] = []
        var printed = ""
        return try TextGenerator(model: model, sampling: sampling).generate(prompt: ids, maxNewTokens: budget, endOfText: endID, seed: seed)
        { token in
            generated.append(token)
            let text = tokenizer.decode(generated)
            if text.hasPrefix(printed) {
                write(String(text.dropFirst(printed.count)))
                printed = text
            }
        }
    }
}

struct TextInferenceConfig: Decodable {
    var model: ComponentSlot<any Model>
    var tokenizer: ComponentSlot<any Tokenizer>
    var promptTemplate: String
    var sequenceLength: PositiveInt
    var temperature: Double
    var endOfDocument: String

    enum CodingKeys: String, CodingKey {
        case model, tokenizer, promptTemplate = "prompt_template", sequenceLength = "sequence_length", temperature
        case endOfDocument = "eod_token", device
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(ComponentSlot<any Model>.self, forKey: .model)
        tokenizer = try c.decode(ComponentSlot<any Tokenizer>.self, forKey: .tokenizer)
        promptTemplate = try c.decode(String.self, forKey: .promptTemplate)
        sequenceLength = try c.decode(PositiveInt.self, forKey: .sequenceLength)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? 1
        endOfDocument = try c.decodeIfPresent(String.self, forKey: .endOfDocument) ?? "<eod>"
        let device = try c.decode(String.self, forKey: .device)
        guard device == "cpu" || Int(device) != nil || device.hasPrefix("cuda") else {
            throw ConfigValueError("device must be cpu, cuda[:N] or a GPU index, found '\(device)'")
        }
        guard temperature >= 0 else { throw ConfigValueError("temperature must not be negative, found \(temperature)") }
    }
}

extension ComponentRegistry {
    /// `inference_component/text`, which Modalities registers for `generate_text`.
    func registerInference() {
        register(
            "inference_component", "text", summary: "interactive text generation from a prompt template (generate_text)",
            config: TextInferenceConfig.self, produces: [TextInferenceComponent.self]
        ) { config, context in
            let built = try context.build(config.model)
            guard let model = built.unwrapped(as: GPT2LLM.self) else {
                throw ConfigValueError("text generation needs a GPT2LLM")
            }
            return TextInferenceComponent(
                model: model, tokenizer: try context.build(config.tokenizer), promptTemplate: config.promptTemplate,
                sequenceLength: config.sequenceLength.value, temperature: config.temperature,
                endOfDocument: config.endOfDocument)
        }
    }
}
