import Testing
import Torch

@testable import Models

@Suite struct GenerationTests {
    @Test(arguments: ["gpt2", "llama"])
    func cachedAndUncachedGreedyDecodingAgree(_ name: String) throws {
        let model = try GoldenModel(name).loadedModel()
        let prompt = [5, 17, 3]
        let cached = try TextGenerator(model: model, useCache: true).generate(prompt: prompt, maxNewTokens: 10)
        let uncached = try TextGenerator(model: model, useCache: false).generate(prompt: prompt, maxNewTokens: 10)
        #expect(cached.count == 10)
        #expect(cached == uncached)
    }

    @Test func cachedLogitsEqualFullSequenceLogits() throws {
        let model = try GoldenModel("llama").loadedModel(attention: .pytorchFlash)
        let tokens = try Tensor([5, 17, 3, 42, 8, 0], shape: [1, 6])
        let full = try model(tokens)
        let cache = KeyValueCache()
        _ = try model(tokens.narrow(1, start: 0, length: 4), cache: cache)
        let rest = try model(tokens.narrow(1, start: 4, length: 2), cache: cache)
        #expect(try rest.allclose(full.narrow(1, start: 4, length: 2), rtol: 1e-5, atol: 1e-5))
        #expect(cache.length == 6)
    }

    @Test func samplingIsSeededAndTopKOneIsGreedy() throws {
        let model = try GoldenModel("gpt2").loadedModel()
        let sampled = TextGenerator(model: model, sampling: .init(temperature: 1.0, topP: 0.9))
        let first = try sampled.generate(prompt: [1, 2], maxNewTokens: 8, seed: 11)
        #expect(try sampled.generate(prompt: [1, 2], maxNewTokens: 8, seed: 11) == first)
        let greedy = try TextGenerator(model: model).generate(prompt: [1, 2], maxNewTokens: 8)
        let topOne = try TextGenerator(model: model, sampling: .init(temperature: 0.7, topK: 1)).generate(
            prompt: [1, 2], maxNewTokens: 8, seed: 3)
        #expect(topOne == greedy)
    }

    @Test func generationStopsAtEndOfText() throws {
        let model = try GoldenModel("gpt2").loadedModel()
        let greedy = try TextGenerator(model: model).generate(prompt: [1, 2], maxNewTokens: 8)
        let stopped = try TextGenerator(model: model).generate(prompt: [1, 2], maxNewTokens: 8, endOfText: greedy[2])
        #expect(stopped == Array(greedy.prefix(3)))
        var streamed: [Int] = []
        _ = try TextGenerator(model: model).generate(prompt: [1, 2], maxNewTokens: 4) { streamed.append($0) }
        #expect(streamed == Array(greedy.prefix(4)))
    }
}
