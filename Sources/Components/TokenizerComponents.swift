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

struct PretrainedHFTokenizerConfig: DeclaredConfig {
    @Field("pretrained_model_name_or_path") var pretrainedModelNameOrPath: String
    @Field("max_length") var maxLength: NonNegativeInt?
    @Field("truncation") var truncation = false
    @Field("padding") var padding: PaddingSetting?
    /// Hugging Face's `add_special_tokens` entries: one token each, or a list (`additional_special_tokens`).
    @Field("special_tokens") var specialTokens: [String: StringOrList]?
}

struct PretrainedSPTokenizerConfig: DeclaredConfig {
    @Field("tokenizer_model_file") var tokenizerModelFile: String
    /// Accepted as Modalities accepts them (its config model ignores keys it does not declare, and configs such as
    /// `packed_cc_en_2048.yaml` write them).
    @Field("padding", ignored: "a SentencePiece tokenizer neither pads nor truncates") var padding: PaddingSetting? = nil
    @Field("truncation", ignored: "a SentencePiece tokenizer neither pads nor truncates") var truncation: Bool? = nil
}

/// Split patterns by name for our `tokenizer/tiktoken` component.
enum SplitPatternName: String, ConfigEnum {
    case gpt2, llama3
}

struct TiktokenTokenizerConfig: DeclaredConfig {
    @Field("ranks_file") var ranksFile: String
    @Field("pattern") var pattern: SplitPatternName
    @Field("special_tokens") var specialTokens: [String: Int] = [:]
}

extension ComponentRegistry {
    /// Modalities' two tokenizer variants and our tiktoken one; all give `any Tokenizer`.
    func registerTokenizers() {
        register(
            "tokenizer", "pretrained_hf_tokenizer",
            summary: "a Hugging Face tokenizer folder (tokenizer.json, or vocab.json + merges.txt)",
            config: PretrainedHFTokenizerConfig.self, produces: [(any Tokenizer).self]
        ) { config, _ -> any Tokenizer in
            let special = config.specialTokens ?? [:]
            // Tokens the vocabulary lacks get new ids in the order Hugging Face adds them: its attribute order
            // (bos, eos, unk, sep, pad, cls, mask, then the additional ones), which is how configs list them.
            let order = [
                "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens",
            ]
            let keys = special.keys.sorted { (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1) }
            var tokens: [String] = []
            for token in keys.flatMap({ special[$0]!.values }) where !tokens.contains(token) { tokens.append(token) }
            let base = try HuggingFaceTokenizerLoader.load(config.pretrainedModelNameOrPath, specialTokens: tokens)
            let padding = config.padding?.padding ?? .none
            if config.maxLength == nil && !config.truncation && padding == .none { return base }
            return try ConfiguredTokenizer(
                base: base, maxLength: config.maxLength?.value, truncation: config.truncation,
                padding: padding, padID: special["pad_token"]?.values.first.flatMap { base.tokenID($0) })
        }
        register(
            "tokenizer", "pretrained_sp_tokenizer", summary: "a SentencePiece .model file (BPE or unigram)",
            config: PretrainedSPTokenizerConfig.self, produces: [(any Tokenizer).self]
        ) { config, _ -> any Tokenizer in
            try SentencePieceTokenizer(path: config.tokenizerModelFile)
        }
        register(
            "tokenizer", "tiktoken", summary: "tiktoken ranks with a named split pattern and special tokens",
            config: TiktokenTokenizerConfig.self, produces: [(any Tokenizer).self]
        ) { config, _ -> any Tokenizer in
            try TiktokenLoader.load(
                path: config.ranksFile, pattern: config.pattern == .gpt2 ? .gpt2 : .llama3,
                specialTokens: config.specialTokens)
        }
    }
}
