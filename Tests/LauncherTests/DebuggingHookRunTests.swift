import Foundation
import Testing

/// `settings.debugging` through the training job: a model initialised beyond float32's range (std 1e39, so its
/// embeddings are infinite) with Modalities' `nan_hook` and `raise_exception: true` stops at the first module whose
/// output is bad, naming it, before any step is taken.
struct DebuggingHookRunTests {
    @Test func theNaNHookStopsARunAtTheFirstBadModule() throws {
        let root = try TrainingJobTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let config =
            try String(contentsOfFile: TrainingJobTests.runConfig, encoding: .utf8)
            .replacingOccurrences(of: "        std: 0.02\n", with: "        std: 1e39\n")
            .replacingOccurrences(
                of: "    last_step: -1\n",
                with: """
                        last_step: -1
                      debugging:
                        component_key: debugging
                        variant_key: settings
                        config:
                          forward_hooks:
                            - instance_key: error_on_nan
                              pass_type: BY_REFERENCE

                    """)
                + """

                error_on_nan:
                  component_key: model_debugging_hook
                  variant_key: nan_hook
                  config:
                    model:
                      instance_key: initialized_model
                      pass_type: BY_REFERENCE
                    raise_exception: true

                """
        #expect(config.contains("std: 1e39") && config.contains("debugging:"))
        let path = root + "/config.yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try DistributedLaunchTests().launch([
            "run", "--config_file_path", path, "--experiments_root_path", root, "--experiment_id", "diverged", "--device", "cpu",
        ])
        #expect(status != 0)
        #expect(
            output.contains("NaN or infinite values in the output of Embedding at transformer.wte in forward pass 1"),
            "\(output.suffix(2000))")
        #expect(!output.contains("train step: 1 "), "no step was taken")
    }
}
