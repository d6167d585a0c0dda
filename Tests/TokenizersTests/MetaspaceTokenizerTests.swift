import Testing

@testable import Tokenizers

/// Mistral's `tokenizer.json`: SentencePiece-style BPE as the Hugging Face `tokenizers` library runs it.
@Suite struct MetaspaceTokenizerTests {
    static let mistral = Result { try HuggingFaceTokenizerLoader.load(dataPath("mistral/tokenizer.json")) }

    @Test func sentenceGivesBOSThenTheModelsIDs() throws {
        let ids = try Self.mistral.get().encode("Hello world! The quick brown fox jumps over the lazy dog.")
        #expect(ids == [1, 23325, 2294, 29576, 1183, 3704, 9828, 1053, 1910, 1229, 11343, 1522, 1040, 18666, 4682, 29491])
        #expect(try Self.mistral.get().tokenID("[INST]") == 3)
        #expect(try Self.mistral.get().encode("[INST]Hi").prefix(2) == [1, 3])
    }

    @Test(arguments: GoldenCorpus.allCases)
    func matchesHuggingFaceTokenizers(_ corpus: GoldenCorpus) throws {
        try expectMatchesGolden(Self.mistral.get(), golden: "mistral-tokenizer-json", corpus: corpus, addedPrefix: 1)
    }
}
