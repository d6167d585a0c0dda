import Foundation
import TestSupport
import Testing

/// Numbers and names from the command line that cannot be honoured are refused with the flag's name before anything
/// loads or is written (they used to trap or be accepted silently).
@Suite struct CommandLineInputTests {
    func modalities(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try DistributedLaunchTests().launch(arguments)
    }

    @Test(arguments: [
        (["--max_new_tokens=-1"], "--max_new_tokens must be 1 or more"),
        (["--temperature=-1"], "--temperature must be a finite number greater than 0"),
        (["--temperature", "nan"], "--temperature must be a finite number greater than 0"),
        (["--top_k=-3"], "--top_k must be 1 or more"),
        (["--top_p", "2"], "--top_p must be in (0, 1]"),
    ])
    func samplingSettingsOutOfRangeAreRefused(_ flags: [String], _ message: String) throws {
        let (status, output) = try modalities(["generate_text", "--model", "/nonexistent", "--prompt_ids", "1,2"] + flags)
        #expect(status != 0 && output.contains(message), "\(output)")
        #expect(!output.contains("/nonexistent"), "refused before the model is looked for")
    }

    @Test func aNegativeCountOfEntriesToShowIsRefused() throws {
        let (status, output) = try modalities(["data", "info", TestData.path("modalities/lorem_ipsum.idx"), "--first=-5"])
        #expect(status != 0 && output.contains("--first must be 0 or more"), "\(output)")
    }

    @Test(arguments: ["../outside", "a/b", ".."])
    func anExperimentIDMayNotLeaveTheExperimentsRoot(_ id: String) throws {
        let root = NSTemporaryDirectory() + "experiment-id-" + UUID().uuidString
        let (status, output) = try modalities([
            "run", "--config_file_path", TrainingJobTests.runConfig, "--experiments_root_path", root + "/runs",
            "--experiment_id", id, "--device", "cpu",
        ])
        #expect(status != 0 && output.contains("must name one folder under the experiments root"), "\(output.suffix(1000))")
        #expect(!FileManager.default.fileExists(atPath: root), "nothing written")
    }
}
