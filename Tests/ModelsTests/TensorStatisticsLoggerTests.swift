import Foundation
import Testing
import Torch

@testable import Models

/// `model/debugging_enriched`'s statistics file: one JSON line per module input, own parameter, output and output
/// gradient, with Modalities' keys in its order.
struct TensorStatisticsLoggerTests {
    static func lines(_ file: String) throws -> [[String: Any]] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func everyModuleEventIsWrittenOnce() throws {
        let folder = NSTemporaryDirectory() + "tensor-stats-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = try ForwardHookTests.model()
        let logger = try TensorStatisticsLogger(folder: folder, rank: 3, logIntervalSteps: 1, parameters: model.parameters.named)
        model.addForwardHook(logger.hook)
        let logits = try model(ForwardHookTests.tokens)
        try logits.sum().backward()
        let text = try String(contentsOfFile: folder + "/tensor_stats_rank_3.jsonl", encoding: .utf8)
        // Modalities' key order (json.dumps of its dict), checked on the raw text.
        let first = try #require(text.split(separator: "\n").first)
        #expect(
            first.hasPrefix(
                "{\"tensor_tag\": \"transformer.wte\", \"hook_type\": \"forward_input\", \"global_shape\": [2, 16], \"local_shape\": [2, 16], \"dtype\": \"torch.int64\", \"is_dtensor\": false, \"nan_count\": 0, \"inf_count\": 0, \"mean\": -1, \"std\": -1, \"min\": "
            ), "\(first)")
        let lines = try Self.lines(folder + "/tensor_stats_rank_3.jsonl")
        // Every parameter once, under the module that owns it.
        let weights = lines.filter { $0["hook_type"] as? String == "forward_weights" }.compactMap { $0["tensor_tag"] as? String }
        #expect(weights.sorted() == model.parameters.named.map(\.name).sorted())
        // 15 modules report an output each (ForwardHookTests lists them); backward reaches those whose outputs need a gradient.
        #expect(lines.filter { $0["hook_type"] as? String == "forward_output" }.count == 15)
        let backward = lines.filter { $0["hook_type"] as? String == "backward_output" }
        #expect(backward.contains { $0["tensor_tag"] as? String == "transformer.lm_head" })
        let head = try #require(
            lines.first { $0["tensor_tag"] as? String == "transformer.lm_head" && $0["hook_type"] as? String == "forward_output" })
        #expect(head["global_shape"] as? [Int] == [2, 16, 64] && head["rank"] as? Int == 3 && head["counter"] as? Int == 0)
        #expect((head["std"] as? Double ?? 0) > 0 && head["dtype"] as? String == "torch.float32")
    }

    @Test func onlyEveryNthCallIsWritten() throws {
        let folder = NSTemporaryDirectory() + "tensor-stats-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = try ForwardHookTests.model()
        let logger = try TensorStatisticsLogger(folder: folder, rank: 0, logIntervalSteps: 2, parameters: model.parameters.named)
        model.addForwardHook(logger.hook)
        try Autograd.noGrad { for _ in 0..<3 { _ = try model(ForwardHookTests.tokens) } }
        let outputs = try Self.lines(folder + "/tensor_stats_rank_0.jsonl").filter {
            $0["tensor_tag"] as? String == "transformer.lm_head" && $0["hook_type"] as? String == "forward_output"
        }
        #expect(outputs.compactMap { $0["counter"] as? Int } == [0, 2])
    }
}
