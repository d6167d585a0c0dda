import Torch

/// Autoregressive decoding with greedy or sampled choices, a KV cache, and a stop token.
public struct TextGenerator {
    /// How the next token is chosen.
    public struct Sampling: Sendable, Equatable {
        /// nil: greedy (argmax).
        public var temperature: Double?
        public var topK: Int?
        public var topP: Double?

        public init(temperature: Double? = nil, topK: Int? = nil, topP: Double? = nil) {
            self.temperature = temperature
            self.topK = topK
            self.topP = topP
        }

        public static let greedy = Sampling()
    }

    public let model: GPT2LLM
    public var sampling: Sampling
    public var useCache: Bool

    public init(model: GPT2LLM, sampling: Sampling = .greedy, useCache: Bool = true) {
        self.model = model
        self.sampling = sampling
        self.useCache = useCache
    }

    /// Generates up to `maxNewTokens` after `prompt`, calling `onToken` as each comes; stops after `endOfText`.
    ///
    /// - Returns: the new tokens (without the prompt).
    public func generate(
        prompt: [Int], maxNewTokens: Int, endOfText: Int? = nil, seed: UInt64 = 0,
        onToken: (Int) -> Void = { _ in }
    ) throws -> [Int] {
        guard !prompt.isEmpty else { throw ModelError.invalidConfig("the prompt has no tokens") }
        let generator = try Generator(seed: seed)
        let cache = useCache ? KeyValueCache() : nil
        var sequence = prompt
        var generated: [Int] = []
        let device = model.parameters.named.first?.tensor.device ?? .cpu
        try Autograd.noGrad {
            var input = try Tensor(prompt, shape: [1, prompt.count]).to(device: device)
            for _ in 0..<maxNewTokens {
                if model.config.positionEmbedding == .absolute && sequence.count > model.config.sequenceLength { break }
                let logits = try model(input, cache: cache)
                let next = try choose(logits.select(1, logits.size(1) - 1).select(0, 0), generator: generator)
                generated.append(next)
                sequence.append(next)
                onToken(next)
                if next == endOfText { break }
                input = try (cache != nil ? Tensor([next], shape: [1, 1]) : Tensor(sequence, shape: [1, sequence.count])).to(device: device)
            }
        }
        return generated
    }

    /// The next token from one row of logits, chosen on the CPU with the seeded CPU generator (the same tokens on
    /// every device, up to the logits' own rounding).
    func choose(_ logits: Tensor, generator: Generator) throws -> Int {
        let logits = try logits.to(device: .cpu)
        guard let temperature = sampling.temperature, temperature > 0 else {
            return try logits.argmax().item(Int.self)
        }
        var scores = try logits.to(dtype: .float32) / temperature
        if let k = sampling.topK, k > 0, k < scores.count {
            let threshold = try scores.topk(k).values.select(0, k - 1).item(Double.self)
            scores = try scores.maskedFill(scores.lt(threshold), -Double.infinity)
        }
        if let p = sampling.topP, p < 1 {
            let (sorted, order) = try scores.sort(descending: true)
            let cumulative = try sorted.softmax(dim: -1).cumsum(0)
            // Drop tokens once the mass before them already reaches p (the first token always stays).
            let drop = try (cumulative - sorted.softmax(dim: -1)).gt(p)
            let removed = try Tensor.zeros([scores.count], dtype: .int64).scatterAdd(0, order, drop.to(dtype: .int64)).gt(0)
            scores = try scores.maskedFill(removed, -Double.infinity)
        }
        return try scores.softmax(dim: -1).multinomial(1, generator: generator).item(Int.self)
    }
}
