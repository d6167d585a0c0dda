import Config
import Foundation
import Launcher
import Logging
import Observability
import Synchronization
import Testing

/// `model/compiled` on the CPU: the tiny GPT-2 config with the model wrapped as Modalities' einsum tutorial wraps it
/// (raw → compiled → fsdp2_wrapped → initialized) trains exactly as without the wrapper, and the log says that the
/// steps run eagerly and why.
@Suite(.serialized) struct CompiledModelRunTests {
    /// Log lines kept for the test to read.
    final class Recorder: LogHandler, @unchecked Sendable {
        let lines = Mutex<[String]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { lines.withLock { $0.append(event.message.description) } }
    }

    func trainLosses(overrides: [String], recorder: Recorder) throws -> [Int: Double] {
        let jobs = TrainingJobTests()
        let root = try jobs.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = TrainingJob.Options(
            configFilePath: TrainingJobTests.runConfig, experimentsRootPath: root, experimentID: "compiled",
            environment: jobs.environment, logger: Logger(label: "test") { _ in recorder })
        options.device = .cpu
        options.stopAfterSteps = 6
        options.overrides = try overrides.map(ConfigOverride.init)
        _ = try TrainingJob(options: options).run()
        return try jobs.trainRecords(root + "/compiled/evaluation_results.jsonl").mapValues { record in
            (record["losses"] as! [String: Any])["train loss avg"] as! Double
        }
    }

    @Test func theCompiledModelTrainsAsTheEagerOneOnTheCPU() throws {
        let eager = try trainLosses(overrides: [], recorder: Recorder())
        let recorder = Recorder()
        let compiled = try trainLosses(
            overrides: [
                "+compiled_model={component_key: model, variant_key: compiled, config: {model: {instance_key: model_raw, pass_type: BY_REFERENCE}, block_names: [GPT2Block]}}",
                "fsdp_model.config.model.instance_key=compiled_model",
            ], recorder: recorder)
        #expect(eager.count == 6)
        // The same kernels in the same order on the same data: the same losses, to the last bit.
        #expect(compiled == eager)
        let lines = recorder.lines.withLock { $0 }
        #expect(
            lines.contains("model/compiled (block_names [\"GPT2Block\"]): eager steps: CUDA graphs need a GPU; on cpu the step runs eagerly on the shim's fused kernels"),
            "\(lines.filter { $0.contains("compiled") })")
    }

    @Test func blockNamesMustNameTheModelsBlocks() throws {
        let error = #expect(throws: (any Error).self) {
            _ = try trainLosses(
                overrides: [
                    "+compiled_model={component_key: model, variant_key: compiled, config: {model: {instance_key: model_raw, pass_type: BY_REFERENCE}, block_names: [TransformerBlock]}}",
                    "fsdp_model.config.model.instance_key=compiled_model",
                ], recorder: Recorder())
        }
        #expect("\(error!)".contains("block_names is [\"TransformerBlock\"], but this model's blocks are GPT2Block"), "\(error!)")
    }
}
