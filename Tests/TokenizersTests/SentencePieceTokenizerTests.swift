import Foundation
import Testing

@testable import Tokenizers

@Suite struct SentencePieceTokenizerTests {
    static let llama2 = Result { try SentencePieceTokenizer(path: dataPath("llama/tokenizer.model")) }
    static let mistral = Result { try SentencePieceTokenizer(path: dataPath("mistral/tokenizer.model")) }
    static let en32k = Result {
        try SentencePieceTokenizer(path: dataPath("modalities/tokenizer/sentencepiece_dclm/en_32k_tokenizer.model"))
    }
    static let unigram = Result { try SentencePieceTokenizer(path: dataPath("modalities/tokenizer/unigram_tokenizer.model")) }

    @Test func knownSentencesGiveTheLibrarysIDs() throws {
        let sentence = "Hello world! The quick brown fox jumps over the lazy dog."
        #expect(
            Array(try Self.llama2.get().encode(sentence).prefix(12)) == [
                15043, 3186, 29991, 450, 4996, 17354, 1701, 29916, 432, 17204, 975, 278,
            ])
        #expect(
            try Self.mistral.get().encode(sentence) == [
                23325, 2294, 29576, 1183, 3704, 9828, 1053, 1910, 1229, 11343, 1522, 1040, 18666, 4682, 29491,
            ])
        let short = "Hello world! The quick brown fox."
        #expect(try Self.en32k.get().encode(short) == [17185, 1228, 32406, 647, 2157, 8426, 27504, 32346])
        #expect(try Self.unigram.get().encode(short) == [517, 31079, 16508, 625, 1452, 517, 29550, 1517, 6200, 538, 1323, 6586, 519])
    }

    @Test(arguments: GoldenCorpus.allCases)
    func llamaAndMistralMatchTheLibrary(_ corpus: GoldenCorpus) throws {
        try expectMatchesGolden(Self.llama2.get(), golden: "llama2-sentencepiece", corpus: corpus)
        try expectMatchesGolden(Self.mistral.get(), golden: "mistral-sentencepiece", corpus: corpus)
    }

    @Test(arguments: GoldenCorpus.allCases)
    func nfkcModelsMatchTheLibrary(_ corpus: GoldenCorpus) throws {
        // NFKC rewrites some characters, so decoding gives the normalized text rather than the input.
        try expectMatchesGolden(Self.en32k.get(), golden: "en32k-sentencepiece", corpus: corpus, roundTrip: false)
        try expectMatchesGolden(Self.unigram.get(), golden: "unigram-sentencepiece", corpus: corpus, roundTrip: false)
    }

    @Test func bosIsAddedOnlyWhenAsked() throws {
        var tokenizer = try Self.llama2.get()
        #expect(tokenizer.encode("Hi").first != 1)
        tokenizer.addsBOS = true
        #expect(tokenizer.encode("Hi").first == 1)
        #expect(tokenizer.decode(tokenizer.encode("Hi there")) == "Hi there")
    }

    @Test func unknownCharactersFallBackToBytes() throws {
        let tokenizer = try Self.llama2.get()
        let ids = tokenizer.encode("𝔘")
        #expect(ids.count >= 4)
        #expect(tokenizer.decode(ids) == "𝔘")
    }

    /// Inputs `make fuzz` found to trap: a field length past 2^63 (an Int conversion) and a piece scored NaN (a
    /// merge rank that could not be looked up). Both are refused now.
    @Test(arguments: ["sentencepiece-huge-length.model", "sentencepiece-nan-score.model"])
    func fuzzFindingsAreRefused(_ name: String) {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/FuzzRegressions/\(name)").path
        let error = #expect(throws: TokenizerError.self) { try SentencePieceTokenizer(path: path) }
        #expect(error?.description.contains(name) == true)
    }

    @Test func notAModelFileIsRefused() {
        let error = #expect(throws: TokenizerError.self) { try SentencePieceTokenizer(path: dataPath("gpt2/merges.txt")) }
        #expect(error?.description.contains("gpt2/merges.txt") == true)
    }
}
