import Foundation
import Config
import Distributed
import Models
import Testing
import Torch

@testable import Components

/// `debugging/settings` registers the hooks it lists on the model and makes libtorch deterministic when asked. It
/// changes libtorch's global determinism flag, so the suite restores it and runs alone.
@Suite(.serialized) struct DebuggingComponentTests {
    @Test func settingsRegisterTheirHooksAndEnableDeterminism() throws {
        let yaml =
            ModelComponentTests.yaml + """

                error_on_nan:
                  component_key: model_debugging_hook
                  variant_key: nan_hook
                  config:
                    model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    raise_exception: true
                print_forward_hook:
                  component_key: model_debugging_hook
                  variant_key: print_forward_hook
                  config:
                    model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    print_shape_only: true
                debugging:
                  component_key: debugging
                  variant_key: settings
                  config:
                    enable_determinism: true
                    forward_hooks:
                      - instance_key: error_on_nan
                        pass_type: BY_REFERENCE
                      - instance_key: print_forward_hook
                        pass_type: BY_REFERENCE
                """
        let before = Runtime.deterministicAlgorithms
        defer { Runtime.deterministicAlgorithms = before }
        let graph = try RunContextTests().graph(yaml, run: nil)
        let settings = try graph.build("debugging", as: DebuggingSettings.self)
        #expect(settings.forwardHooks.map(\.count) == [1, 1])
        #expect(settings.enableDeterminism && Runtime.deterministicAlgorithms)
        // Removed, the hooks leave the model as it was.
        for hooks in settings.forwardHooks { hooks.remove() }
        #expect(settings.forwardHooks.map(\.count) == [0, 0])
    }
}

/// `model/debugging_enriched` hands back the model it wraps with the statistics hook on it, on the ranks it tracks.
struct DebuggingEnrichedModelTests {
    static func yaml(folder: String, trackedRanks: String) -> String {
        ModelComponentTests.yaml + """

            enriched_model:
              component_key: model
              variant_key: debugging_enriched
              config:
                model: {instance_key: initialized_model, pass_type: BY_REFERENCE}
                logging_dir_path: \(folder)
                tracked_ranks: \(trackedRanks)
            """
    }

    @Test func aTrackedRankWritesStatisticsForItsForwardPasses() throws {
        let folder = NSTemporaryDirectory() + "enriched-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let graph = try RunContextTests().graph(Self.yaml(folder: folder, trackedRanks: "[1]"), run: RunContext(rank: 1, worldSize: 2))
        let model = try graph.build("enriched_model", as: (any Model).self)
        let initialized = try graph.build("initialized_model", as: (any Model).self)
        #expect(model === initialized)
        _ = try model.forward(["input_ids": try Tensor.randint(0, 64, [1, 8])], training: false)
        let text = try String(contentsOfFile: folder + "/tensor_stats_rank_1.jsonl", encoding: .utf8)
        #expect(text.contains("\"hook_type\": \"forward_output\"") && text.contains("\"rank\": 1"))
    }

    @Test func anUntrackedRankGetsTheModelUnchanged() throws {
        let folder = NSTemporaryDirectory() + "enriched-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let graph = try RunContextTests().graph(Self.yaml(folder: folder, trackedRanks: "[0]"), run: RunContext(rank: 1, worldSize: 2))
        let model = try graph.build("enriched_model", as: (any Model).self)
        _ = try model.forward(["input_ids": try Tensor.randint(0, 64, [1, 8])], training: false)
        #expect(!FileManager.default.fileExists(atPath: folder + "/tensor_stats_rank_1.jsonl"))
    }
}
