import Observability
import Testing

@Suite struct CheckpointFolderNameTests {
    @Test func theNumbersOfANameReadBackAsWritten() throws {
        let name = CheckpointFolderName(
            experimentID: "2024-01-01__12-00-00_abc", seenSteps: 11, seenTokens: 2816, targetSteps: 20,
            targetTokens: 5120)
        let path = "/runs/checkpoints/" + name.text
        #expect(try CheckpointFolderName.Field.allCases.map { try CheckpointFolderName.number($0, inPath: path) } == [11, 2816, 20, 5120])
        // Modalities' FSDP1 file names carry the same fields.
        let file = "/ckpt/eid_x-model-seen_steps_7-seen_tokens_448-target_steps_9-target_tokens_576.bin"
        #expect(try CheckpointFolderName.number(.seenTokens, inPath: file) == 448)
    }

    @Test func aPathWithoutTheFieldOrWithItTwiceIsRefused() {
        let missing = #expect(throws: CheckpointFolderName.ReadError.self) {
            try CheckpointFolderName.number(.seenSteps, inPath: "/tmp/model.bin")
        }
        #expect(missing?.matches == 0 && missing?.label == "seen_steps" && missing?.path == "/tmp/model.bin")
        let twice = "/seen_steps_3/eid_x-seen_steps_4-seen_tokens_8"
        let error = #expect(throws: CheckpointFolderName.ReadError.self) { try CheckpointFolderName.number(.seenSteps, inPath: twice) }
        #expect(error?.matches == 2)
        #expect(error?.description.contains("expected exactly one seen_steps_<number>") == true)
    }
}
