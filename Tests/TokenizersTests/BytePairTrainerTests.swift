import Foundation
import Testing

@testable import Tokenizers

@Suite struct BytePairTrainerTests {
    @Test func trainedTokenizerLoadsAndMatchesTheReference() throws {
        let text = try String(contentsOfFile: dataPath("corpus/tinyshakespeare.txt"), encoding: .utf8)
        let model = BytePairTrainer(vocabularySize: 2048).train(text.components(separatedBy: "\n\n"))
        #expect(model.specialTokens.count + model.tokens.count == 2048)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try BytePairTrainer.tokenizerJSON(model).write(to: folder.appendingPathComponent("tokenizer.json"))

        let tokenizer = try HuggingFaceTokenizerLoader.load(folder.path)
        let ids = tokenizer.encode(text)
        // Hugging Face tokenizers 0.23.3 loads the same file and encodes tiny Shakespeare in 388,533 tokens.
        #expect(ids.count == 388_533)
        #expect(tokenizer.decode(ids) == text)
        #expect(tokenizer.tokenID("<|endoftext|>") == 0)
        #expect(tokenizer.encode("the king<|endoftext|>").last == 0)
    }

    @Test func rarePairsAreNotMerged() {
        let model = BytePairTrainer(vocabularySize: 1000, minimumFrequency: 3, specialTokens: []).train(["ab ab xy"])
        #expect(model.tokens.count == 256)
        let frequent = BytePairTrainer(vocabularySize: 1000, minimumFrequency: 2, specialTokens: []).train(["ab ab ab xy"])
        #expect(frequent.tokens.contains(Array("ab".utf8)))
        #expect(!frequent.tokens.contains(Array("xy".utf8)))
    }
}
