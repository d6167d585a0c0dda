import Components
import Testing

@Suite struct NumberConversionTests {
    @Test func stepsTokensAndBatchesDeriveFromEachOther() {
        #expect(
            NumberConversion.numTokens(
                numSteps: 10, numRanks: 2, localMicroBatchSize: 4, sequenceLength: 256,
                gradientAccumulationSteps: 2) == 40_960)
        #expect(
            NumberConversion.numSteps(
                numRanks: 2, localMicroBatchSize: 4, globalNumTokens: 40_960, sequenceLength: 256,
                gradientAccumulationSteps: 2) == 10)
        #expect(NumberConversion.localNumBatches(numRanks: 2, globalNumSamples: 100, localMicroBatchSize: 8) == 6)
    }

    @Test func checkpointPathsGiveTheirCounts() throws {
        let path = "/ckpt/2024-06-05__14-31-13/eid_2024-06-05-model-seen_steps_11-seen_tokens_2816-target_steps_20-target_tokens_5120.bin"
        #expect(try NumberConversion.value("seen_steps", inCheckpointPath: path) == 11)
        #expect(try NumberConversion.value("seen_tokens", inCheckpointPath: path) == 2816)
        #expect(try NumberConversion.numTargetSteps(checkpointPath: path) == 20)
        #expect(throws: NumberConversionError.self) { try NumberConversion.value("seen_samples", inCheckpointPath: path) }
    }
}
