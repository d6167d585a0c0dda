import Foundation
import Models
import Testing
import Torch

/// Forward hooks see GPT2LLM's modules as PyTorch's `register_forward_hook` would (children before their parent,
/// Modalities' paths and class names), leave the values alone, and let `nan_hook` name the first bad module.
struct ForwardHookTests {
    static func model() throws -> GPT2LLM {
        let model = try GPT2LLM(config: TensorParallelismTests.llama, seed: 3)
        try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 2).initialize(model, seed: 3)
        return model
    }

    static let tokens = try! Tensor.randint(0, 64, [2, 16], generator: Generator(seed: 7))

    @Test func hooksSeeEveryModuleInPyTorchsOrderAndChangeNothing() throws {
        let model = try Self.model()
        let plain = try model(Self.tokens).toArray(Float.self)
        var seen: [String] = []
        let handle = model.addForwardHook { seen.append("\($0.typeName) \($0.path)") }
        let hooked = try model(Self.tokens).toArray(Float.self)
        #expect(hooked == plain)
        let block = { (layer: Int) in
            [
                "RMSLayerNorm transformer.h.\(layer).attention_norm", "CausalSelfAttention transformer.h.\(layer).attn",
                "RMSLayerNorm transformer.h.\(layer).ffn_norm", "SwiGLU transformer.h.\(layer).mlp", "GPT2Block transformer.h.\(layer)",
            ]
        }
        #expect(
            seen
                == ["Embedding transformer.wte", "Dropout transformer.drop"] + block(0) + block(1) + [
                    "RMSLayerNorm transformer.lm_head_norm", "Linear transformer.lm_head", "GPT2LLM ",
                ])
        model.removeForwardHook(handle)
        seen = []
        _ = try model(Self.tokens)
        #expect(seen.isEmpty)
    }

    /// A NaN in the second block's MLP weights: its MLP is the first module whose output is bad.
    @Test func theNaNHookNamesTheFirstBadModule() throws {
        let model = try Self.model()
        _ = try Autograd.noGrad {
            try model.parameters.tensors["transformer.h.1.mlp.W_2.weight"]!.narrow(0, start: 0, length: 1).fill_(.nan)
        }
        let detector = NonFiniteDetector(raiseException: true)
        var reports: [String] = []
        detector.report = { reports.append($0) }
        model.addForwardHook(detector.hook)
        let error = #expect(throws: ModelError.self) { try model(Self.tokens) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.hasPrefix("NaN or infinite values in the output of SwiGLU at transformer.h.1.mlp in forward pass 1"), "\(message)")
        #expect(message.hasSuffix("32 of 1024 values, shape [2, 16, 32]"), "\(message)")
        #expect(reports == [message])
    }

    /// Gradients are checked too: a loss that turns the logits' gradient into NaN is reported first at the head, whose
    /// output the model's is, the first gradient backward computes; without raise_exception the run goes on.
    @Test func theNaNHookChecksGradientsAndCanOnlyReport() throws {
        let model = try Self.model()
        let detector = NonFiniteDetector(raiseException: false)
        var reports: [String] = []
        detector.report = { reports.append($0) }
        model.addForwardHook(detector.hook)
        let logits = try model(Self.tokens, training: true)
        #expect(reports.isEmpty)
        try (logits * Double.nan).sum().backward()
        #expect(
            reports.prefix(2) == [
                "NaN or infinite values in the gradient of Linear at transformer.lm_head in forward pass 1: 2048 of 2048 values, shape [2, 16, 64]",
                "NaN or infinite values in the gradient of GPT2LLM at the model in forward pass 1: 2048 of 2048 values, shape [2, 16, 64]",
            ], "\(reports.prefix(3))")
    }

    @Test func printedShapesFollowModalitiesFormat() throws {
        #expect(try ForwardPrinter.summary(Tensor([1.5, 2, 3], shape: [3])) == "tensor([1.5, 2, 3], shape [3], float64)")
        let long = try ForwardPrinter.summary(Tensor.zeros([3, 4]))
        #expect(long == "tensor([0, 0, 0, 0, 0, 0, 0, 0, …], shape [3, 4], float32)", "\(long)")
    }
}
