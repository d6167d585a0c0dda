import Foundation
import Testing
import Torch

@testable import Models

/// A golden's two files in Golden/: `name.json` (its manifest) and `name.bin` (little-endian float32 values).
func goldenFiles(_ name: String) throws -> (manifest: [String: Any], floats: [Float]) {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("\(name).json"))) as! [String: Any]
    let blob = try Data(contentsOf: folder.appendingPathComponent("\(name).bin"))
    return (manifest, blob.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
}

/// A golden model from scripts/make-model-goldens.py: weights and the logits Hugging Face computed.
struct GoldenModel {
    let config: [String: Any]
    let parameters: [(name: String, shape: [Int], values: [Float])]
    let inputIDs: [[Int]]
    let logitsShape: [Int]
    let logits: [Float]
    let loss: Double

    init(_ name: String) throws {
        let (manifest, floats) = try goldenFiles(name)
        var offset = 0
        var parameters: [(String, [Int], [Float])] = []
        for entry in manifest["parameters"] as! [[String: Any]] {
            let shape = entry["shape"] as! [Int]
            let count = shape.reduce(1, *)
            parameters.append((entry["name"] as! String, shape, Array(floats[offset..<(offset + count)])))
            offset += count
        }
        config = manifest["config"] as! [String: Any]
        self.parameters = parameters
        inputIDs = manifest["input_ids"] as! [[Int]]
        logitsShape = manifest["logits_shape"] as! [Int]
        logits = Array(floats[offset...])
        loss = manifest["loss"] as! Double
    }

    func modelConfig(attention: GPT2LLMConfig.AttentionImplementation = .manual) -> GPT2LLMConfig {
        let norm = GPT2LLMConfig.Norm(
            kind: GPT2LLMConfig.NormKind(rawValue: config["norm"] as! String)!,
            epsilon: config["eps"] as! Double, bias: config["bias"] as! Bool)
        return GPT2LLMConfig(
            vocabularySize: config["vocab_size"] as! Int, sequenceLength: config["sequence_length"] as! Int,
            layerCount: config["n_layer"] as! Int, queryHeads: config["n_head_q"] as! Int, keyValueHeads: config["n_head_kv"] as! Int,
            embeddingSize: config["n_embd"] as! Int, ffnHidden: config["ffn_hidden"] as! Int, bias: config["bias"] as! Bool,
            positionEmbedding: GPT2LLMConfig.PositionEmbedding(rawValue: config["poe_type"] as! String)!,
            rotaryBaseFrequency: (config["rotary_base_freq"] as? Int).map(Double.init), attentionImplementation: attention,
            activation: GPT2LLMConfig.Activation(rawValue: config["activation_type"] as! String)!,
            attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: config["use_weight_tying"] as! Bool,
            swigluHiddenMultiple: config["enforce_swiglu_hidden_dim_multiple_of"] as? Int ?? 256)
    }

    func loadedModel(attention: GPT2LLMConfig.AttentionImplementation = .manual) throws -> GPT2LLM {
        let model = try GPT2LLM(config: modelConfig(attention: attention))
        for (name, shape, values) in parameters { try model.parameters.load(name, from: Tensor(values, shape: shape)) }
        #expect(model.parameters.named.count == parameters.count, "every parameter of the model has a golden value")
        return model
    }

    var tokens: Tensor { get throws { try Tensor(inputIDs.flatMap { $0 }, shape: [inputIDs.count, inputIDs[0].count]) } }
}

@Suite struct GPT2LLMParityTests {
    @Test(arguments: ["gpt2", "llama"])
    func logitsAndLossMatchTransformers(_ name: String) throws {
        let golden = try GoldenModel(name)
        let model = try golden.loadedModel()
        let logits = try model(golden.tokens)
        #expect(logits.shape == golden.logitsShape)
        let values = try logits.toArray(Float.self)
        let worst = zip(values, golden.logits).map { Swift.abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest logit difference \(worst)")
        // transformers' causal-LM loss: predict token t+1 from positions up to t.
        let length = golden.inputIDs[0].count
        let predictions = try logits.narrow(1, start: 0, length: length - 1).reshape([-1, golden.logitsShape[2]])
        let targets = try golden.tokens.narrow(1, start: 1, length: length - 1).reshape([-1])
        let loss = try Functional.crossEntropy(predictions, target: targets).item(Double.self)
        #expect(Swift.abs(loss - golden.loss) < 1e-5, "loss \(loss) vs \(golden.loss)")
    }

    @Test(arguments: ["gpt2", "llama"])
    func manualAndSDPAAttentionAgreeIncludingGradients(_ name: String) throws {
        let golden = try GoldenModel(name)
        let manual = try golden.loadedModel(attention: .manual)
        let fused = try golden.loadedModel(attention: .pytorchFlash)
        let a = try manual(golden.tokens)
        let b = try fused(golden.tokens)
        #expect(try a.allclose(b, rtol: 1e-5, atol: 1e-5))
        try a.sum().backward()
        try b.sum().backward()
        for ((name, first), (_, second)) in zip(manual.parameters.named, fused.parameters.named) {
            #expect(try first.grad!.allclose(second.grad!, rtol: 1e-4, atol: 1e-5), "gradient of \(name)")
        }
    }
}
