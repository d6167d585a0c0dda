import Foundation
import Models
import TestSupport
import Testing
import Torch
import Training

/// A tensor-parallel group of threads in one process: each rank deposits its tensor and every rank gets the sum,
/// added in rank order. The layout's mathematics is checked here without a network; the same layout over c10d
/// process groups runs through `launch`.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var deposits: [Tensor?]
    private var arrived = 0
    private var generation = 0
    private var sum: Tensor?

    init(size: Int) {
        self.size = size
        deposits = Array(repeating: nil, count: size)
    }

    func allReduceSum(rank: Int, _ tensor: Tensor) throws -> Tensor {
        condition.lock()
        defer { condition.unlock() }
        let round = generation
        deposits[rank] = tensor
        arrived += 1
        if arrived == size {
            var total = try deposits[0]!.clone()
            for other in 1..<size { total = try total + deposits[other]! }
            sum = total
            deposits = Array(repeating: nil, count: size)
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == round { condition.wait() }
        }
        return try sum!.clone()
    }

    final class Member: TensorParallelCommunicator, @unchecked Sendable {
        let group: ThreadGroup
        let rank: Int
        init(_ group: ThreadGroup, rank: Int) {
            self.group = group
            self.rank = rank
        }
        var size: Int { group.size }
        func allReduceSum(_ tensor: Tensor) throws -> Tensor { try group.allReduceSum(rank: rank, tensor) }
    }

    /// Runs `body` once per rank, each on its own thread, and returns the results in rank order.
    func run<T>(_ body: @escaping (Member) throws -> T) throws -> [T] {
        try runOnThreadRanks(size) { rank in try body(Member(self, rank: rank)) }
    }
}

struct TensorParallelismTests {
    static let llama = GPT2LLMConfig(
        vocabularySize: 64, sequenceLength: 16, layerCount: 2, queryHeads: 4, keyValueHeads: 2, embeddingSize: 32, ffnHidden: 64,
        bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, activation: .swiglu,
        attentionNorm: .init(kind: .rmsNorm, epsilon: 1e-6, bias: false), ffnNorm: .init(kind: .rmsNorm, epsilon: 1e-6, bias: false),
        lmHeadNorm: .init(kind: .rmsNorm, epsilon: 1e-6, bias: false), weightTying: false, swigluHiddenMultiple: 32)
    static let gpt2 = GPT2LLMConfig(
        vocabularySize: 64, sequenceLength: 16, layerCount: 2, queryHeads: 4, keyValueHeads: 4, embeddingSize: 32, ffnHidden: 64,
        bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: .init(kind: .layerNorm),
        ffnNorm: .init(kind: .layerNorm), lmHeadNorm: .init(kind: .layerNorm), weightTying: true)

    /// The form's configuration and a whole model of it, initialised from seed 3.
    static func initializedModel(form: String) throws -> (GPT2LLMConfig, GPT2LLM) {
        let config = form == "llama" ? llama : gpt2
        let whole = try GPT2LLM(config: config, seed: 3)
        try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 2).initialize(whole, seed: 3)
        return (config, whole)
    }

    /// Loss, logits and gradients by name of one step on fixed tokens.
    static func step(_ model: GPT2LLM) throws -> (loss: Float, logits: [Float], grads: [String: Tensor]) {
        let tokens = try Tensor.randint(0, 64, [2, 17], generator: Generator(seed: 7))
        let logits = try model(tokens.narrow(1, start: 0, length: 16), training: true)
        let loss = try Functional.crossEntropy(logits.reshape([-1, 64]), target: tokens.narrow(1, start: 1, length: 16).reshape([-1]))
        try loss.backward()
        // Sequence parallelism leaves each rank its part of the replicated parameters' gradients until this sum.
        try model.sumSequenceParallelGradients()
        var grads: [String: Tensor] = [:]
        for (name, tensor) in model.parameters.named { grads[name] = tensor.grad }
        return (try loss.item(Float.self), try logits.toArray(Float.self), grads)
    }

    /// The largest difference relative to the largest magnitude of `b`, or to 1e-4 when `b` is smaller: the key
    /// bias's gradient is zero in exact arithmetic (moving every key by one vector leaves the softmax unchanged), so
    /// what remains of it is rounding noise that only an absolute bound can compare.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        let scale = Swift.max(b.map(abs).max() ?? 0, 1e-4)
        return (zip(a, b).map { abs($0 - $1) }.max() ?? .infinity) / scale
    }

    /// Two ranks holding halves of the split matrices give the one-rank model's logits, loss and gradients (each
    /// rank's gradient is its slice of the whole one). The partial products add in another order than one matmul,
    /// so values agree to float32 rounding: within 1e-5 of each tensor's largest magnitude (a sum left out in
    /// backward, for comparison, is off by more than 1e-2). With activation checkpointing the ranks recompute each
    /// block's collectives in backward, all in the same order, and the values are the same. With the gather overlapped
    /// with the column-parallel products (async TP), the products come part by part and the hand-written backward
    /// gives the same values.
    @Test(arguments: ["llama", "gpt2"], [(false, false), (true, false), (false, true), (true, true)])
    func twoRanksFollowOneRank(form: String, options: (checkpointed: Bool, overlapping: Bool)) throws {
        let (checkpointed, overlapping) = options
        let (config, whole) = try Self.initializedModel(form: form)
        let reference = try Self.step(whole)
        let wholeTensors = Dictionary(uniqueKeysWithValues: whole.parameters.named.map { ($0.name, try! $0.tensor.detach()) })

        let ranks = try ThreadGroup(size: 2).run { member -> (Float, [Float], [String: Tensor], TensorParallelShard) in
            let shard = TensorParallelShard(communicator: member, overlapsCollectives: overlapping)
            let model = try GPT2LLM(config: config, seed: 3, tensorParallel: shard)
            for (name, _) in model.parameters.named {
                try model.parameters.load(name, from: shard.slice(of: wholeTensors[name]!, name: name))
            }
            model.checkpointedLayers = checkpointed ? [0, 1] : []
            let (loss, logits, grads) = try Self.step(model)
            return (loss, logits, grads, shard)
        }
        for (loss, logits, grads, shard) in ranks {
            #expect(abs(loss - reference.loss) < 1e-5, "rank \(shard.rank): loss \(loss) vs \(reference.loss)")
            #expect(Self.relativeDifference(logits, reference.logits) < 1e-5, "rank \(shard.rank): logits")
            #expect(grads.count == reference.grads.count)
            for (name, gradient) in grads {
                let expected = try shard.slice(of: reference.grads[name]!, name: name)
                #expect(gradient.shape == expected.shape, "\(name)")
                let difference = Self.relativeDifference(try gradient.toArray(Float.self), try expected.toArray(Float.self))
                #expect(difference < 1e-5, "rank \(shard.rank) \(name): \(difference)")
            }
        }
        // Split matrices really are split: each rank holds half of a query projection.
        #expect(TensorParallelShard.split(of: "transformer.h.0.attn.q_attn.weight") == .rows)
        #expect(TensorParallelShard.split(of: "transformer.h.1.mlp.W_2.weight") == .columns)
        #expect(TensorParallelShard.split(of: "transformer.h.1.attn.c_proj.bias") == .replicated)
    }

    /// Loss parallelism: with `enable_loss_parallel` the forward leaves each rank its part of the vocabulary's
    /// logits, and the cross entropy reduces across the group; loss and gradients are the one-rank model's (the
    /// log-sum-exp is taken per part and combined, float32 rounding: 1e-5 as above).
    @Test(arguments: ["llama", "gpt2"])
    func lossParallelCrossEntropyFollowsOneRank(form: String) throws {
        let (config, whole) = try Self.initializedModel(form: form)
        let tokens = try Tensor.randint(0, 64, [2, 17], generator: Generator(seed: 7))
        let inputs = ["input_ids": try tokens.narrow(1, start: 0, length: 16)]
        let targets = ["target_ids": try tokens.narrow(1, start: 1, length: 16)]
        let loss = CLMCrossEntropyLoss(targetKey: "target_ids", predictionKey: "logits")
        let reference = try loss(predictions: try whole.forward(inputs, training: true), targets: targets)
        try reference.backward()
        let ranks = try ThreadGroup(size: 2).run { member -> (Float, [String: Tensor], [Int], TensorParallelShard) in
            let shard = TensorParallelShard(communicator: member, lossParallel: true)
            let model = try GPT2LLM(config: config, seed: 3, tensorParallel: shard)
            for (name, tensor) in whole.parameters.named {
                try model.parameters.load(name, from: shard.slice(of: tensor.detach(), name: name))
            }
            let predictions = try model.forward(inputs, training: true)
            let value = try loss(predictions: predictions, targets: targets, vocabularyParallel: model.lossParallelGroup)
            try value.backward()
            try model.sumSequenceParallelGradients()
            var grads: [String: Tensor] = [:]
            for (name, tensor) in model.parameters.named { grads[name] = tensor.grad }
            return (try value.item(Float.self), grads, predictions["logits"]!.shape, shard)
        }
        let expected = try reference.item(Float.self)
        for (value, grads, shape, shard) in ranks {
            #expect(shape == [2, 16, 32], "rank \(shard.rank): the logits of half the vocabulary")
            #expect(abs(value - expected) < 1e-5 * abs(expected), "rank \(shard.rank): \(value) vs \(expected)")
            for (name, gradient) in grads {
                let slice = try shard.slice(of: try #require(whole.parameters.tensors[name]?.grad), name: name)
                let difference = Self.relativeDifference(try gradient.toArray(Float.self), try slice.toArray(Float.self))
                #expect(difference < 1e-5, "rank \(shard.rank) \(name): \(difference)")
            }
        }
    }

    /// Sequence parallelism needs the sequence to split evenly and no cache: an odd length and cached decoding keep
    /// the activations whole between the regions, and give the whole model's logits all the same.
    @Test(arguments: ["llama", "gpt2"])
    func oddLengthsAndCachedDecodingFollowOneRank(form: String) throws {
        let (config, whole) = try Self.initializedModel(form: form)
        let tokens = try Tensor.randint(0, 64, [1, 7], generator: Generator(seed: 9))
        func logits(_ model: GPT2LLM) throws -> [Float] {
            let cache = KeyValueCache()
            let prompt = try model(tokens.narrow(1, start: 0, length: 5), cache: cache)
            let next = try model(tokens.narrow(1, start: 5, length: 2), cache: cache)
            let odd = try model(tokens)
            return try prompt.toArray(Float.self) + next.toArray(Float.self) + odd.toArray(Float.self)
        }
        let reference = try Autograd.noGrad { try logits(whole) }
        let ranks = try ThreadGroup(size: 2).run { member in
            try Autograd.noGrad { try logits(try whole.splitForTensorParallelism(TensorParallelShard(communicator: member))) }
        }
        for (rank, values) in ranks.enumerated() {
            #expect(Self.relativeDifference(values, reference) < 1e-5, "rank \(rank)")
        }
    }

    /// Gradient clipping measures the whole model's norm on split ranks: split matrices' powers summed over the
    /// group, replicated parameters counted once; the clipped gradients are the slices of the whole ones.
    @Test(arguments: GradientNormType.allCases)
    func clippingMeasuresTheWholeNorm(normType: GradientNormType) throws {
        let config = Self.llama
        let whole = try GPT2LLM(config: config, seed: 3)
        try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 2).initialize(whole.parameters, seed: 3)
        _ = try Self.step(whole)
        // Half the measured norm as max_norm, so that clipping scales every gradient.
        let maxNorm = try GradientClipper(model: whole, normType: normType, maxNorm: nil).clipGradients() / 2
        let reference = try GradientClipper(model: whole, normType: normType, maxNorm: maxNorm).clipGradients()
        let clipped = Dictionary(uniqueKeysWithValues: try whole.parameters.named.map { ($0.name, try $0.tensor.grad!.detach()) })
        let wholeTensors = Dictionary(uniqueKeysWithValues: whole.parameters.named.map { ($0.name, try! $0.tensor.detach()) })

        let ranks = try ThreadGroup(size: 2).run { member -> (Double, [String: Tensor], TensorParallelShard) in
            let shard = TensorParallelShard(communicator: member)
            let model = try GPT2LLM(config: config, seed: 3, tensorParallel: shard)
            for (name, _) in model.parameters.named {
                try model.parameters.load(name, from: shard.slice(of: wholeTensors[name]!, name: name))
            }
            _ = try Self.step(model)
            let norm = try GradientClipper(model: model, normType: normType, maxNorm: maxNorm).clipGradients()
            return (norm, Dictionary(uniqueKeysWithValues: model.parameters.named.map { ($0.name, $0.tensor.grad!) }), shard)
        }
        for (norm, grads, shard) in ranks {
            // The powers add in another order than one norm over all gradients: float32 rounding.
            #expect(abs(norm - reference) <= 1e-5 * reference, "rank \(shard.rank) \(normType): \(norm) vs \(reference)")
            for (name, gradient) in grads {
                let expected = try shard.slice(of: clipped[name]!, name: name)
                let difference = Self.relativeDifference(try gradient.toArray(Float.self), try expected.toArray(Float.self))
                #expect(difference < 1e-5, "rank \(shard.rank) \(name): \(difference)")
            }
        }
    }

    /// Initialisation does not depend on the layout: a split model (built deferred, as with `use_meta_device`, or
    /// split from a whole one) initialised from the model's seed holds exactly the slices of the whole model
    /// initialised from it (the same draws, of whole shapes), for both initializers.
    @Test(arguments: [false, true])
    func initialisingASplitModelGivesTheSlicesOfTheWholeOne(llama3: Bool) throws {
        let initializer: any ModelInitializer =
            llama3
            ? try Llama3Initialization(layerCount: 2, embeddingSize: 32, depthInit: true)
            : try ComposedInitialization(weightInitType: .scaled, mean: 0, std: .value(0.02), layerCount: 2)
        let whole = try GPT2LLM(config: Self.llama, seed: 5)
        try initializer.initialize(whole, seed: 5)
        let slices = try ThreadGroup(size: 2).run { member -> [(String, Tensor, Tensor)] in
            let shard = TensorParallelShard(communicator: member)
            let split = try GPT2LLM(config: Self.llama, seed: 5, deferAllocation: true).splitForTensorParallelism(shard)
            #expect(split.parameters.hasDeferredParameters)
            try initializer.initialize(split, seed: 5)
            #expect(split.parameterCount == whole.parameterCount)
            return try split.parameters.named.map {
                ($0.name, $0.tensor, try shard.slice(of: whole.parameters.tensors[$0.name]!, name: $0.name))
            }
        }
        for (name, actual, expected) in slices.joined() {
            let equal = try actual.shape == expected.shape && actual.equal(expected)
            #expect(equal, "\(name)")
        }
    }

    @Test func aDegreeThatDoesNotDivideTheHeadsIsRefusedWithTheNumbers() throws {
        let group = ThreadGroup(size: 3)
        let error = #expect(throws: ModelError.self) {
            try GPT2LLM(config: Self.llama, tensorParallel: TensorParallelShard(communicator: ThreadGroup.Member(group, rank: 0)))
        }
        #expect(error?.description.hasPrefix("n_head_q (4) must be divisible by the tensor-parallel degree (3)") == true)
    }
}
