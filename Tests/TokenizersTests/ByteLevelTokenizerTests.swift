import Foundation
import Testing

@testable import Tokenizers

@Suite struct ByteLevelTokenizerTests {
    static let sentence = "Hello world! The quick brown fox jumps over the lazy dog."
    static let sentenceIDs = [15496, 995, 0, 383, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]

    static let gpt2VocabMerges = Result { try HuggingFaceTokenizerLoader.load(dataPath("gpt2")) }
    static let gpt2TokenizerJSON = Result { try HuggingFaceTokenizerLoader.load(dataPath("modalities/tokenizer/hf_gpt2")) }
    static let gpt2Tiktoken = Result {
        try TiktokenLoader.load(path: dataPath("gpt2/gpt2.tiktoken"), pattern: .gpt2, specialTokens: ["<|endoftext|>": 50256])
    }
    static let llama3 = Result {
        try TiktokenLoader.load(
            path: dataPath("llama3/tokenizer.model"), pattern: .llama3,
            specialTokens: ["<|begin_of_text|>": 128000, "<|end_of_text|>": 128001])
    }

    @Test func gpt2FromEverySourceGivesTheKnownIDs() throws {
        for tokenizer in [try Self.gpt2VocabMerges.get(), try Self.gpt2TokenizerJSON.get(), try Self.gpt2Tiktoken.get()] {
            #expect(tokenizer.encode("Hello world") == [15496, 995])
            #expect(tokenizer.encode(Self.sentence) == Self.sentenceIDs)
            #expect(tokenizer.decode(Self.sentenceIDs) == Self.sentence)
            #expect(tokenizer.tokenID("<|endoftext|>") == 50256)
            #expect(tokenizer.encode("a<|endoftext|>b") == [64, 50256, 65])
            #expect(tokenizer.vocabularySize == 50257)
        }
    }

    @Test func llama3GivesTheKnownIDs() throws {
        let tokenizer = try Self.llama3.get()
        #expect(tokenizer.encode(Self.sentence) == [9906, 1917, 0, 578, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13])
        #expect(tokenizer.encode("<|begin_of_text|>Hi") == [128000, 13347])
    }

    @Test func splitPatternsFollowTheirRegexes() {
        func pieces(_ text: String, _ pattern: SplitPattern) -> [String] {
            let scalars = Array(text.unicodeScalars)
            return pattern.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
        }
        #expect(pieces("Hello  world's 12345!!\n\n x", .gpt2) == ["Hello", " ", " world", "'s", " 12345", "!!", "\n\n", " x"])
        #expect(
            pieces("I'LL go (now) 12345\n\n  end", .llama3) == ["I", "'LL", " go", " (", "now", ")", " ", "123", "45", "\n\n", " ", " end"])
        #expect(pieces("héllo wörld ١٢٣", .gpt2) == ["héllo", " wörld", " ١٢٣"])
    }

    @Test(arguments: GoldenCorpus.allCases)
    func gpt2MatchesHuggingFaceTokenizers(_ corpus: GoldenCorpus) throws {
        try expectMatchesGolden(Self.gpt2VocabMerges.get(), golden: "gpt2-vocab-merges", corpus: corpus)
        try expectMatchesGolden(Self.gpt2TokenizerJSON.get(), golden: "gpt2-modalities-tokenizer-json", corpus: corpus)
    }

    @Test(arguments: GoldenCorpus.allCases)
    func tiktokenRanksMatchTiktoken(_ corpus: GoldenCorpus) throws {
        try expectMatchesGolden(Self.gpt2Tiktoken.get(), golden: "gpt2-tiktoken", corpus: corpus)
        try expectMatchesGolden(Self.llama3.get(), golden: "llama3-tiktoken", corpus: corpus)
    }

    @Test func wholeShakespeareCountsMatchTheReference() throws {
        let text = try String(contentsOfFile: dataPath("corpus/tinyshakespeare.txt"), encoding: .utf8)
        #expect(try Self.gpt2TokenizerJSON.get().encode(text).count == 338_025)
        #expect(try Self.llama3.get().encode(text).count == 301_768)
    }

    @Test func badFilesAreRefusedWithTheirPath() {
        #expect(throws: TokenizerError.unreadable(path: "/nonexistent", reason: "no such file or folder")) {
            try HuggingFaceTokenizerLoader.load("/nonexistent")
        }
        let error = #expect(throws: TokenizerError.self) {
            try TiktokenLoader.load(path: dataPath("gpt2/vocab.json"), pattern: .gpt2)
        }
        #expect(error?.description.contains("gpt2/vocab.json") == true)
    }

    /// Ids size arrays: 10⁹ once allocated 8 GB, −5 and 2⁶² trapped. Now each is refused naming the token.
    @Test(arguments: [1_000_000_000, -5, 1 << 62])
    func idsFarOutsideTheVocabularyAreRefused(id: Int) throws {
        let folder = NSTemporaryDirectory() + "tokenizer-ids-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let json = """
            {"model": {"type": "BPE", "vocab": {"a": 0, "b": \(id)}, "merges": []},
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}}
            """
        try json.write(toFile: folder + "/tokenizer.json", atomically: true, encoding: .utf8)
        let error = #expect(throws: TokenizerError.self) { try HuggingFaceTokenizerLoader.load(folder) }
        #expect(error?.description.contains("token \"b\" has id \(id)") == true, "\(String(describing: error))")
    }
}

/// Tokenizers named by hub id cannot be fetched: the error says so and how to point at a local copy.
struct HubIDTests {
    @Test func aHubIDSaysHowToUseALocalCopy() {
        #expect {
            _ = try HuggingFaceTokenizerLoader.load("Qwen/Qwen2.5-0.5B")
        } throws: { error in
            "\(error)".contains("looks like a Hugging Face hub id") && "\(error)".contains("huggingface-cli download Qwen/Qwen2.5-0.5B")
        }
        #expect(looksLikeHubID("Qwen/Qwen2.5-0.5B"))
        #expect(!looksLikeHubID("./data/tokenizer") && !looksLikeHubID("data/tokenizer/hf_gpt2") && !looksLikeHubID("/abs/x"))
    }
}
