import Components
import Config
import Foundation
import ModalitiesSchema
import TestSupport
import Testing

let testDataFolder = TestData.folder

/// Configs written in Modalities' grammar validate as far as our components go and name what is missing.
@Suite struct ModalitiesConfigTests {
    static let folder = fixturesFolder.appendingPathComponent("Configs")
    static let checkpointFolder =
        "/runs/data/checkpoints/2026-11-26__10-00-00/eid_2026-11-26__10-00-00-seen_steps_32-seen_tokens_16384-target_steps_650-target_tokens_332800"

    func validator(warmstart: Bool = false) -> ConfigValidator {
        ConfigValidator.builtIn(
            environment: ResolverEnvironment(
                configFilePath: "configs/run.yaml", experimentsRootPath: "/runs", experimentID: "2026-11-26__10-00-00",
                variables: ["MODALITIES_TEST_DATA": testDataFolder],
                warmstartCheckpointPaths: warmstart ? [("checkpoint_folder_path", Self.checkpointFolder)] : nil,
                cpuCount: 2))
    }

    func load(_ name: String) throws -> ConfigNode {
        try ConfigLoader.load(file: Self.folder.appendingPathComponent(name).path)
    }

    @Test func trainingConfigValidatesWithEveryComponentBuilt() throws {
        let root = try load("lorem_ipsum_long_fsdp2.yaml")
        let result = try validator().validate(root, for: .run)
        // The settings are evaluated with the real dataset: 1,300 blocks of 256 tokens make 650 steps of 512 tokens,
        // and the 32-step intervals do not divide 650 (warnings, since enforcement is off for them).
        #expect(result.warnings.count == 2 && result.warnings.allSatisfy { $0.message.contains("remaining steps (650)") })
        #expect(result.settings?.trainingTarget.numTargetSteps == 650)

        let resolved = try ConfigInterpolator(environment: validator().environment).resolve(root)
        #expect(resolved["model_raw"]?["config"]?["prediction_key"]?.scalarText == "logits")
        #expect(resolved["initialized_model"]?["config"]?["model_initializer"]?["config"]?["num_layers"]?.scalarText == "2")
        #expect(resolved["settings"]?["cuda_env"]?["world_size"]?.scalarText == "1")
        #expect(resolved["settings"]?["config_file_path"]?.scalarText == "configs/run.yaml")
    }

    @Test func warmstartConfigReadsProgressFromTheCheckpointPath() throws {
        let root = try load("lorem_ipsum_long_fsdp2_warmstart.yaml")
        let (settings, warnings) = try validator(warmstart: true).trainingSettings(root)
        #expect(settings.trainingTarget.numTargetTokens == 332_800)
        #expect(settings.trainingTarget.numTargetSteps == 650)
        #expect(settings.trainingProgress.numSeenSteps == 32)
        #expect(settings.trainingProgress.lastStep == 31)
        #expect(settings.trainingProgress.globalNumSeenTokens == 16_384)
        #expect(settings.trainingProgress.numSeenSamples == 64)
        #expect(settings.warmstartCheckpointPaths?["checkpoint_folder_path"] == Self.checkpointFolder)
        #expect(settings.tokensPerStep == 512)
        // 618 remaining steps are not a multiple of the evaluation and checkpoint intervals (32): warnings only.
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.severity == .warning && $0.message.contains("remaining steps (618)") })

        // Validation reads component configs only; the checkpoint itself is loaded when app_state/dcp is built.
        #expect(try validator(warmstart: true).validate(root, for: .warmstart).warnings.count == 2)
    }

    @Test func datasetTooSmallForTheTargetIsAnError() throws {
        // The short lorem ipsum file (7,989 tokens) cannot supply the long one's 332,800 target tokens.
        let text = try String(contentsOfFile: Self.folder.appendingPathComponent("lorem_ipsum_long_fsdp2.yaml").path, encoding: .utf8)
        let shortTraining = text.replacingOccurrences(
            of: "raw_data_path: ${settings.paths.train_dataset_path}",
            with: "raw_data_path: ${settings.paths.test_dataset_path}")
        let root = try ConfigLoader.parse(shortTraining, file: "short.yaml")
        let error = #expect(throws: ConfigError.self) { try validator().validate(root, for: .run) }
        let problem = error?.issues.first { $0.kind == .consistency && $0.severity == .error }
        #expect(problem?.message.contains("not enough tokens in the training dataset: 31 samples") == true, "\(error?.issues ?? [])")
        #expect(problem?.keyPath == "train_dataset")
    }

    /// Every problem at once survives a failed interpolation: `n_layr` (which `${model_raw.config.n_layer}` misses), a
    /// misspelled instance_key and an unknown variant_key are all reported, each at its line, and nothing else.
    /// (Before, the interpolation error was reported alone.)
    @Test func threeMistakesAreThreeErrorsAtTheirLines() throws {
        let text = try String(contentsOfFile: Self.folder.appendingPathComponent("lorem_ipsum_long_fsdp2.yaml").path, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        func line(of needle: String) -> Int { lines.firstIndex { $0.contains(needle) }! + 1 }
        let broken = text.replacingOccurrences(of: "    n_layer: 2", with: "    n_layr: 2")
            .replacingOccurrences(of: "      instance_key: collate_fn", with: "      instance_key: colate_fn")
            .replacingOccurrences(of: "  variant_key: gpt_2_llm_collator", with: "  variant_key: gpt2_llm_collator")
        let error = #expect(throws: ConfigError.self) {
            try validator().validate(ConfigLoader.parse(broken, file: "broken.yaml"), for: .run)
        }
        let errors = (error?.issues ?? []).filter { $0.severity == .error }
        func reported(_ text: String, atLine number: Int) -> Bool {
            errors.contains { $0.message.contains(text) && $0.location.line == number }
        }
        #expect(reported("n_layer", atLine: line(of: "num_layers: ${model_raw.config.n_layer}")), "\(errors)")
        #expect(reported("unknown key 'n_layr'", atLine: line(of: "    n_layer: 2")), "\(errors)")
        #expect(reported("colate_fn", atLine: line(of: "      instance_key: collate_fn")), "\(errors)")
        #expect(reported("gpt2_llm_collator", atLine: line(of: "  variant_key: gpt_2_llm_collator")), "\(errors)")
        // Nothing else: each error is one of the three mistakes where it shows (both dataloaders name the collator,
        // two places interpolate n_layer, which model_raw is then missing), no follow-on of a stand-in value.
        for issue in errors {
            #expect(["n_layr", "n_layer", "colate_fn", "gpt2_llm_collator"].contains { issue.message.contains($0) }, "\(issue)")
        }
    }

    @Test func warmstartResolverIsRefusedOutsideWarmstart() throws {
        let root = try load("lorem_ipsum_long_fsdp2_warmstart.yaml")
        let error = #expect(throws: ConfigError.self) { try validator().trainingSettings(root) }
        #expect(error?.issues.first?.message.contains("only available under warmstart") == true)
    }

    @Test func inferredModelFollowsTheKeys() throws {
        #expect(InstantiationModel.inferred(from: try load("lorem_ipsum_long_fsdp2.yaml")) == .run)
        #expect(InstantiationModel.inferred(from: try load("lorem_ipsum_long_fsdp2_warmstart.yaml")) == .warmstart)
        #expect(
            InstantiationModel.inferred(from: try ConfigLoader.parse("tokenizer: {}\nsettings: {src_path: a.jsonl}")) == .packEncodedData)
    }
}

/// Modalities' settings rules: tokens per step and interval alignment, as errors or warnings.
@Suite struct TrainingSettingsTests {
    func settingsYAML(steps: Int = 10, tokens: Int = 10 * 2048, logInterval: Int = 5, enforce: Bool = true) -> String {
        """
        settings:
          experiment_id: exp
          config_file_path: run.yaml
          referencing_keys: {sample_key: input_ids}
          cuda_env: {local_rank: 0, global_rank: 0, world_size: 2}
          paths: {checkpoint_saving_path: ckpt}
          intervals:
            training_log_interval_in_steps: \(logInterval)
            checkpointing_interval_in_steps: 5
            evaluation_interval_in_steps: 10
          consistency_enforcement:
            enforce_tokens_per_step_consistency: \(enforce)
            enforce_last_step_logged: \(enforce)
          step_profile: {gradient_accumulation_steps: 2, local_train_micro_batch_size: 2, sequence_length: 256}
          training_target: {num_target_tokens: \(tokens), num_target_steps: \(steps)}
          training_progress: {global_num_seen_tokens: 0, num_seen_steps: 0, num_seen_samples: 0, last_step: -1}
        """
    }

    func check(_ yaml: String) throws -> (TrainingSettings, [ConfigIssue]) {
        let validator = ConfigValidator(registry: .builtIn(), environment: ResolverEnvironment(configFilePath: "run.yaml", variables: [:]))
        return try validator.trainingSettings(ConfigLoader.parse(yaml, file: "run.yaml"))
    }

    @Test func consistentSettingsPass() throws {
        let (settings, warnings) = try check(settingsYAML())
        #expect(settings.tokensPerStep == 2048)
        #expect(warnings.isEmpty)
        #expect(settings.report.contains("2048 tokens per step"))
    }

    @Test func tokensPerStepMismatchIsAnErrorWhenEnforced() throws {
        let error = #expect(throws: ConfigError.self) { try check(settingsYAML(tokens: 12 * 2048)) }
        #expect(error?.issues.count == 1)
        #expect(error?.issues.first?.message.contains("needs 2457.6 tokens per step") == true)
        #expect(error?.issues.first?.location == SourceLocation(file: "run.yaml", line: 2, column: 3))
    }

    @Test func unenforcedRulesBecomeWarnings() throws {
        let (_, warnings) = try check(settingsYAML(tokens: 12 * 2048, logInterval: 3, enforce: false))
        #expect(warnings.count == 2)
        #expect(warnings.contains { $0.message.contains("will not be logged") })
    }

    @Test func lastStepNotLoggedIsAnErrorWhenEnforced() throws {
        let error = #expect(throws: ConfigError.self) { try check(settingsYAML(logInterval: 3)) }
        #expect(error?.issues.first?.keyPath == "settings.intervals.training_log_interval_in_steps")
    }
}
