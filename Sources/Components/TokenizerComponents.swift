import Config
import Tokenizers

/// `padding` as Modalities writes it: a boolean or one of Hugging Face's strategy names.
struct PaddingSetting: Decodable {
    var padding: ConfiguredTokenizer.Padding

    init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch text.lowercased() {
        case "false", "true", "longest", "do_not_pad": padding = .none
        case "max_length": padding = .maxLength
        default: throw ConfigValueError("padding must be true, false, 'longest', 'max_length' or 'do_not_pad', found '\(text)'")
        }
    }
}

struct PretrainedHFTokenizerConfig: Decodable {
    var pretrainedModelNameOrPath: String
    var maxLength: NonNegativeInt?
    var truncation: Bool
    var padding: PaddingSetting?
    /// Hugging Face's `add_special_tokens` entries: one token each, or a list (`additional_special_tokens`).
    var specialTokens: [String: StringOrList]?

    enum CodingKeys: String, CodingKey {
        case pretrainedModelNameOrPath = "pretrained_model_name_or_path", maxLength = "max_length", truncation, padding
        case specialTokens = "special_tokens"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pretrainedModelNameOrPath = try container.decode(String.self, forKey: .pretrainedModelNameOrPath)
        maxLength = try container.decodeIfPresent(NonNegativeInt.self, forKey: .maxLength)
        truncation = try container.decodeIfPresent(Bool.self, forKey: .truncation) ?? false
        padding = try container.decodeIfPresent(PaddingSetting.self, forKey: .padding)
        specialTokens = try container.decodeIfPresent([String: StringOrList].self, forKey: .specialTokens)
    }
}

struct PretrainedSPTokenizerConfig: Decodable {
    var tokenizerModelFile: String
    /// Accepted as Modalities accepts them (its config model ignores keys it does not declare, and configs such as
    /// `packed_cc_en_2048.yaml` write them); a SentencePiece tokenizer neither pads nor truncates.
    var padding: PaddingSetting?
    var truncation: Bool?

    enum CodingKeys: String, CodingKey { case tokenizerModelFile = "tokenizer_model_file", padding, truncation }
}

/// Split patterns by name for our `tokenizer/tiktoken` component.
enum SplitPatternName: String, ConfigEnum {
    case gpt2, llama3
}

struct TiktokenTokenizerConfig: Decodable {
    var ranksFile: String
    var pattern: SplitPatternName
    var specialTokens: [String: Int]

    enum CodingKeys: String, CodingKey { case ranksFile = "ranks_file", pattern, specialTokens = "special_tokens" }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ranksFile = try container.decode(String.self, forKey: .ranksFile)
        pattern = try container.decode(SplitPatternName.self, forKey: .pattern)
        specialTokens = try container.decodeIfPresent([String: Int].self, forKey: .specialTokens) ?? [:]
    }
}

extension ComponentRegistry {
    /// Modalities' two tokenizer variants and our tiktoken one; all give `any Tokenizer`.
    func registerTokenizers() {
        register("tokenizer", "pretrained_hf_tokenizer",
                 summary: "a Hugging Face tokenizer folder (tokenizer.json, or vocab.json + merges.txt)",
                 config: PretrainedHFTokenizerConfig.self, produces: [(any Tokenizer).self]) { config, _ -> any Tokenizer in
            let special = config.specialTokens ?? [:]
            // Tokens the vocabulary lacks get new ids in the order Hugging Face adds them: its attribute order
            // (bos, eos, unk, sep, pad, cls, mask, then the additional ones), which is how configs list them.
            let order = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens"]
            let keys = special.keys.sorted { (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1) }
            var tokens: [String] = []
            for token in keys.flatMap({ special[$0]!.values }) where !tokens.contains(token) { tokens.append(token) }
            let base = try HuggingFaceTokenizerLoader.load(config.pretrainedModelNameOrPath, specialTokens: tokens)
            let padding = config.padding?.padding ?? .none
            if config.maxLength == nil && !config.truncation && padding == .none { return base }
            return try ConfiguredTokenizer(base: base, maxLength: config.maxLength?.value, truncation: config.truncation,
                                           padding: padding, padID: special["pad_token"]?.values.first.flatMap { base.tokenID($0) })
        }
        register("tokenizer", "pretrained_sp_tokenizer", summary: "a SentencePiece .model file (BPE or unigram)",
                 config: PretrainedSPTokenizerConfig.self, produces: [(any Tokenizer).self]) { config, _ -> any Tokenizer in
            try SentencePieceTokenizer(path: config.tokenizerModelFile)
        }
        register("tokenizer", "tiktoken", summary: "tiktoken ranks with a named split pattern and special tokens",
                 config: TiktokenTokenizerConfig.self, produces: [(any Tokenizer).self]) { config, _ -> any Tokenizer in
            try TiktokenLoader.load(path: config.ranksFile, pattern: config.pattern == .gpt2 ? .gpt2 : .llama3,
                                    specialTokens: config.specialTokens)
        }
    }
}
