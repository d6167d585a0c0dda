import Foundation
import Models
import Torch

/// Activation checkpointing's trade: the allocator's peak above the model during forward + backward, and the
/// time of one such step, for no checkpointing, every block, every second block (Modalities' selective_layer
/// with ac_freq 2) and selective op checkpointing keeping `ops.aten.mm.default` (every other matrix product).
///
///     swift run -c release TrainingBenchmarks checkpointing [steps]
///
/// The model: 8 layers, width 512, SwiGLU, no bias (with a bias libtorch's linear runs addmm, which the mm
/// policy does not keep), vocabulary 1024, 8 × 256 tokens.
func benchmarkCheckpointing(steps: Int) throws {
    let (batch, length, vocabulary, layers) = (8, 256, 1024, 8)
    let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm)
    let model = try GPT2LLM(
        config: GPT2LLMConfig(
            vocabularySize: vocabulary, sequenceLength: length, layerCount: layers, queryHeads: 8, keyValueHeads: 8, embeddingSize: 512,
            ffnHidden: 2048, bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, attentionImplementation: .pytorchFlash,
            activation: .swiglu, attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: false))
    try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: layers).initialize(
        model.parameters, seed: 0)
    let tokens = try Tensor.randint(0, vocabulary, [batch, length + 1], generator: Generator(seed: 1))
    let inputs = try tokens.narrow(1, start: 0, length: length)
    let targets = try tokens.narrow(1, start: 1, length: length).reshape([-1])
    let every = Set(0..<layers)
    let variants: [(String, Set<Int>, SelectiveCheckpointPolicy?)] = [
        ("none", [], nil),
        ("full_activation_checkpointing", every, nil),
        ("selective_layer (ac_freq 2)", Set(every.filter { ($0 + 1) % 2 == 0 }), nil),
        ("selective_op (ops.aten.mm.default)", every, try SelectiveCheckpointPolicy(keys: ["ops.aten.mm.default"])),
    ]
    print("activation checkpointing, \(layers) layers × width 512, \(batch) × \(length) tokens, \(Runtime.threadCount) threads")
    print("| variant | allocator peak above the model | forward + backward |")
    print("| --- | --- | --- |")
    for (name, checkpointed, policy) in variants {
        model.checkpointedLayers = checkpointed
        model.selectiveCheckpointPolicy = policy
        var peak = 0
        var seconds: [Double] = []
        for step in 0...steps {  // step 0 warms up
            let before = try Memory.cpuStatistics().currentBytes
            Memory.resetPeak()
            let start = DispatchTime.now()
            let logits = try model(inputs, training: true)
            try Functional.crossEntropy(logits.reshape([-1, vocabulary]), target: targets).backward()
            if step > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9) }
            peak = max(peak, try Memory.cpuStatistics().peakBytes - before)
            for (_, tensor) in model.parameters.named { try tensor.setGrad(nil) }
        }
        let mean = seconds.reduce(0, +) / Double(seconds.count)
        print(String(format: "| %@ | %.1f MiB | %.2f s |", name, Double(peak) / 1_048_576, mean))
    }
}
