import Planning
import Testing

@Suite struct ModelShapeTests {
    /// GPT-2 small as Hugging Face counts it: 124,439,808 parameters (tied head, learned positions, biases).
    @Test func gpt2SmallHasItsPublishedParameterCount() {
        let gpt2 = ModelShape(
            layerCount: 12, embeddingSize: 768, queryHeads: 12, keyValueHeads: 12, feedForwardHidden: 3072,
            gatedFeedForward: false, vocabularySize: 50_257, sequenceLength: 1024, bias: true, learnedPositions: true,
            weightTying: true, normParameters: 2 * 768)
        #expect(gpt2.parameterCount == 124_439_808)
    }

    /// Llama 3 8B: 8,030,261,248 parameters (GQA with 8 kv heads, SwiGLU 14336, RMSNorm weights only, untied head).
    @Test func llama3With8BHasItsPublishedParameterCount() {
        let llama = ModelShape(
            layerCount: 32, embeddingSize: 4096, queryHeads: 32, keyValueHeads: 8, feedForwardHidden: 14336,
            gatedFeedForward: true, vocabularySize: 128_256, sequenceLength: 8192)
        #expect(llama.parameterCount == 8_030_261_248)
    }

    /// Training FLOPs: 3 × the forward's 2 FLOPs per multiply-add, so 6 per parameter of a matrix product plus 12·L·T·d
    /// for attention; full recomputation adds one more forward of the blocks.
    @Test func executedFlopsCountForwardBackwardAndRecomputation() {
        let shape = ModelShape(
            layerCount: 2, embeddingSize: 64, queryHeads: 4, keyValueHeads: 4, feedForwardHidden: 256, gatedFeedForward: false,
            vocabularySize: 100, sequenceLength: 32)
        let blocks = Double(2 * shape.blockParameterCount)
        let attention = 12.0 * 2 * 32 * 64
        #expect(shape.executedFlopsPerToken() == 6 * (blocks + 100 * 64) + attention)
        #expect(shape.executedFlopsPerToken(recomputedFraction: 1) == 6 * (blocks + 100 * 64) + attention + 2 * blocks + attention / 3)
    }
}
