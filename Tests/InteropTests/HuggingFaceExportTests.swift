import Foundation
import Models
import Testing
import Torch

@testable import Interop

/// Both directions against folders `transformers` wrote (scripts/make-interop-goldens.py) and round trips.
@Suite(.serialized) struct HuggingFaceExportTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
    static var reference: [String: Any] {
        let data = try! Data(contentsOf: URL(fileURLWithPath: golden + "/logits.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
    static let ids: [[Int]] = reference["ids"] as! [[Int]]

    func logits(_ model: GPT2LLM) throws -> [Float] {
        try Autograd.noGrad { try model(Tensor(Self.ids.flatMap { $0 }, shape: [2, 8])).toArray(Float.self) }
    }

    func temporaryFolder() -> String { NSTemporaryDirectory() + "hf-" + UUID().uuidString }

    @Test(arguments: ["gpt2", "llama", "stablelm"])
    func transformersFoldersImportWithTheirLogits(_ form: String) throws {
        let model = try HuggingFaceModelImport.load(folder: Self.golden + "/" + form)
        let expected = ((Self.reference["logits"] as! [String: Any])[form] as! [[[Double]]]).flatMap { $0.flatMap { $0 } }
        let actual = try logits(model)
        let difference = zip(actual, expected).map { Swift.abs(Double($0) - $1) }.max()!
        #expect(actual.count == expected.count && difference < 1e-4, "\(form): max difference \(difference)")
        #expect(model.config.activation == (form == "gpt2" ? .geluTanh : .swiglu))
    }

    @Test(arguments: ["gpt2", "llama", "stablelm"])
    func exportWritesTransformersLayoutExactly(_ form: String) throws {
        let model = try HuggingFaceModelImport.load(folder: Self.golden + "/" + form)
        let folder = temporaryFolder()
        try HuggingFaceExport.write(model, to: folder)
        let original = try SafeTensorsFolder(folder: Self.golden + "/" + form)
        let exported = try SafeTensorsFolder(folder: folder)
        // transformers keeps GPT-2's causal-mask buffers out of safetensors too; every weight matches bit for bit.
        #expect(exported.names == original.names)
        for name in original.names {
            #expect(try exported.tensor(name).toArray(Float.self) == original.tensor(name).toArray(Float.self), "\(name)")
        }
        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))) as! [String: Any]
        let architectures = ["gpt2": "GPT2LMHeadModel", "llama": "LlamaForCausalLM", "stablelm": "StableLmForCausalLM"]
        #expect(config["architectures"] as? [String] == [architectures[form]!])
        #expect(try logits(HuggingFaceModelImport.load(folder: folder)) == logits(model))
    }

    /// A few training steps, then out and back in: identical logits, for the three forms. The StableLM form is
    /// Modalities' getting-started model (SwiGLU, rotary, LayerNorm without bias: exported as zero biases).
    @Test(arguments: ["gpt2", "llama", "stablelm"])
    func trainedModelsRoundTrip(_ form: String) throws {
        let swiglu = form != "gpt2"
        let layerNorm = GPT2LLMConfig.Norm(kind: .layerNorm, epsilon: 1e-5, bias: false)
        let rmsNorm = GPT2LLMConfig.Norm(kind: .rmsNorm, epsilon: 1e-6, bias: false)
        let norm = form == "llama" ? rmsNorm : layerNorm
        let model = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 64, sequenceLength: 16, layerCount: 2, queryHeads: 4, keyValueHeads: swiglu ? 2 : 4, embeddingSize: 32,
                ffnHidden: 64, bias: !swiglu, positionEmbedding: swiglu ? .none : .absolute, rotaryBaseFrequency: swiglu ? 500_000 : nil,
                activation: swiglu ? .swiglu : .gelu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: form != "llama"))
        try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.05), layerCount: 2).initialize(model.parameters, seed: 4)
        let parameters = model.parameters.named.map(\.tensor)
        let moments = try parameters.map { try $0.detach().zerosLike() }
        let squares = try parameters.map { try $0.detach().zerosLike() }
        let steps = try parameters.map { _ in try Tensor.zeros([]) }
        let tokens = try Tensor(Self.ids.flatMap { $0 }, shape: [2, 8])
        for _ in 0..<3 {
            let output = try model(tokens.narrow(1, start: 0, length: 7), training: true)
            try Functional.crossEntropy(output.reshape([-1, 64]), target: tokens.narrow(1, start: 1, length: 7).reshape([-1])).backward()
            try Autograd.noGrad {
                try Foreach.fusedAdamW_(
                    parameters: parameters, grads: parameters.map { $0.grad! }, expAvgs: moments, expAvgSqs: squares,
                    steps: steps, lr: 1e-2, beta1: 0.9, beta2: 0.95, weightDecay: 0, eps: 1e-8)
            }
            for parameter in parameters { try parameter.setGrad(nil) }
        }
        let folder = temporaryFolder()
        try HuggingFaceExport.write(model, to: folder, endOfText: 0, maximumShardBytes: 8_000)
        #expect(FileManager.default.fileExists(atPath: folder + "/model.safetensors.index.json"), "small shards force an index")
        let imported = try HuggingFaceModelImport.load(folder: folder)
        // RMSNorm comes back as PyTorch's RMSNorm (the same function); LayerNorm as LayerNorm.
        #expect((imported.config.attentionNorm.kind == .layerNorm) == (norm.kind == .layerNorm))
        #expect(imported.config.activation == model.config.activation)
        let difference = zip(try logits(model), try logits(imported)).map { Swift.abs($0 - $1) }.max()!
        #expect(difference < 1e-5, "max difference \(difference)")
        let generation =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/generation_config.json")))
            as? [String: Any]
        #expect(generation?["eos_token_id"] as? Int == 0)
    }

    @Test func modelsNeitherClassRepresentsAreRefusedWithTheReason() throws {
        let norm = GPT2LLMConfig.Norm(kind: .layerNorm)
        let model = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 64, sequenceLength: 16, layerCount: 1, queryHeads: 4, keyValueHeads: 4, embeddingSize: 32, ffnHidden: 64,
                bias: true, positionEmbedding: .absolute, activation: .swiglu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm,
                weightTying: true))
        let error = #expect(throws: InteropError.self) { try HuggingFaceExport.write(model, to: temporaryFolder()) }
        #expect("\(error!)".contains("without rotary positions"))
    }
}
