import Torch

/// The ranks one layer's matrices are split over (Megatron-LM's tensor-parallel group). Models need its sum, and
/// for sequence and vocabulary parallelism its gather and reduce-scatter along a dimension; Parallelism implements
/// them over a c10d process group. The default gather and reduce-scatter go through the sum (correct, with more
/// traffic), for groups that have nothing better.
public protocol TensorParallelCommunicator: AnyObject {
    /// Ranks in the group.
    var size: Int { get }
    /// This rank's place in the group, 0 ..< size.
    var rank: Int { get }
    /// The element-wise sum of `tensor` over the group's ranks; every rank gets the same result.
    func allReduceSum(_ tensor: Tensor) throws -> Tensor
    /// Every rank's `tensor` (all of one shape) concatenated along `dim` in rank order.
    func allGather(_ tensor: Tensor, dim: Int) throws -> Tensor
    /// This rank's part along `dim` (its size divided by the group's) of the sum of `tensor` over the group.
    func reduceScatter(_ tensor: Tensor, dim: Int) throws -> Tensor
    /// Starts ``allGather(_:dim:)`` and returns at once; calling the result waits for it and gives the gathered tensor.
    func allGatherStarted(_ tensor: Tensor, dim: Int) throws -> () throws -> Tensor
    /// Starts ``reduceScatter(_:dim:)`` and returns at once; calling the result waits for it and gives this rank's part.
    func reduceScatterStarted(_ tensor: Tensor, dim: Int) throws -> () throws -> Tensor
}

extension TensorParallelCommunicator {
    public func allGather(_ tensor: Tensor, dim: Int) throws -> Tensor {
        var shape = tensor.shape
        let width = shape[dim]
        shape[dim] = width * size
        let placed = try Tensor.zeros(shape, dtype: tensor.dtype, device: tensor.device)
        _ = try Autograd.noGrad { try placed.narrow(dim, start: rank * width, length: width).copy_(tensor) }
        return try allReduceSum(placed)
    }

    public func reduceScatter(_ tensor: Tensor, dim: Int) throws -> Tensor {
        try allReduceSum(tensor).chunk(size, dim: dim)[rank].contiguous()
    }

    /// Synchronous unless the communicator overlaps: the collective runs now and the result is handed back later.
    public func allGatherStarted(_ tensor: Tensor, dim: Int) throws -> () throws -> Tensor {
        let gathered = try allGather(tensor, dim: dim)
        return { gathered }
    }

    public func reduceScatterStarted(_ tensor: Tensor, dim: Int) throws -> () throws -> Tensor {
        let part = try reduceScatter(tensor, dim: dim)
        return { part }
    }
}

/// Where a model stands in a tensor-parallel group: which slice of each split matrix it holds.
///
/// GPT2LLM's layout is Megatron-LM's: the attention's query, key and value projections and the MLP's input
/// projections (`c_fc`, SwiGLU's `W` and `V`) are split by output rows (column-parallel: each rank computes its
/// heads and its part of the hidden layer); the attention's and the MLP's output projections (`c_proj`, `W_2`) are
/// split by input columns (row-parallel: each rank's partial products are summed over the group, and the bias is
/// added once after the sum). As Modalities' plan: the token and position embeddings are split by rows
/// (vocabulary- and position-parallel: each rank looks up the ids it holds, the partial sums are added over the
/// group), and the language-model head is column-parallel (each rank computes the logits of its part of the
/// vocabulary, gathered over the group). Norms are replicated.
public struct TensorParallelShard {
    public let communicator: any TensorParallelCommunicator
    /// Whether the model's forward leaves the logits split over the vocabulary for a loss that reduces across the
    /// group (loss parallelism: the whole logits are never gathered). Generation still gets them whole.
    public let lossParallel: Bool
    /// Async tensor parallelism (torchtitan's `enable_async_tensor_parallel`): under sequence parallelism the gather
    /// into the column-parallel layers overlaps with their products, and its backward's reduce-scatter with the
    /// weights' gradients (``TensorParallelRegion/gatherSequenceIntoProducts(_:weights:_:)``).
    public let overlapsCollectives: Bool

    public init(communicator: any TensorParallelCommunicator, lossParallel: Bool = false, overlapsCollectives: Bool = false) {
        self.communicator = communicator
        self.lossParallel = lossParallel
        self.overlapsCollectives = overlapsCollectives
    }

    public var size: Int { communicator.size }
    public var rank: Int { communicator.rank }

    /// How a parameter of GPT2LLM is split, by its state-dict name.
    public enum Split: Equatable, Sendable {
        case replicated
        /// Rows (dimension 0): column-parallel weights and their biases.
        case rows
        /// Columns (dimension 1): row-parallel weights (their biases are replicated).
        case columns

        /// The dimension split across the ranks; nil when replicated.
        public var dimension: Int? {
            switch self {
            case .replicated: return nil
            case .rows: return 0
            case .columns: return 1
            }
        }
    }

    /// The split of `name` in GPT2LLM's layout.
    public static func split(of name: String) -> Split {
        let columnParallel = [
            ".attn.q_attn.", ".attn.k_attn.", ".attn.v_attn.", ".mlp.c_fc.", ".mlp.W.", ".mlp.V.", ".wte.", ".wpe.", ".lm_head.",
        ]
        if columnParallel.contains(where: name.contains) { return .rows }
        let rowParallel = [".attn.c_proj.weight", ".mlp.c_proj.weight", ".mlp.W_2.weight"]
        if rowParallel.contains(where: name.hasSuffix) { return .columns }
        return .replicated
    }

    /// This rank's slice of the whole parameter `name`.
    public func slice(of whole: Tensor, name: String) throws -> Tensor {
        guard let dimension = Self.split(of: name).dimension else { return whole }
        return try whole.chunk(size, dim: dimension)[rank].contiguous()
    }

    /// The whole parameter's shape for `name`, given this rank's slice's shape.
    public func wholeShape(of name: String, sliceShape: [Int]) -> [Int] {
        var shape = sliceShape
        if let dimension = Self.split(of: name).dimension { shape[dimension] *= size }
        return shape
    }

    /// Checks that `config` splits evenly: heads, kv heads and the MLP's hidden size divisible by the group's size.
    func validate(_ config: GPT2LLMConfig) throws { try Self.validate(config, degree: size) }

    /// Checks that `config` splits evenly over `degree` ranks: heads, kv heads and the MLP's hidden size divisible
    /// by it.
    public static func validate(_ config: GPT2LLMConfig, degree size: Int) throws {
        let hidden = config.activation == .swiglu ? ("the SwiGLU hidden size", config.swigluHidden) : ("ffn_hidden", config.ffnHidden)
        var divided = [("n_head_q", config.queryHeads), ("n_head_kv", config.keyValueHeads), hidden, ("vocab_size", config.vocabularySize)]
        if config.positionEmbedding == .absolute { divided.append(("sequence_length", config.sequenceLength)) }
        for (field, value) in divided where value % size != 0 {
            throw ModelError.invalidConfig(
                "\(field) (\(value)) must be divisible by the tensor-parallel degree (\(size)); \(value) / \(size) = \(Double(value) / Double(size))"
            )
        }
    }
}

/// The two operations at the edges of a tensor-parallel region (Megatron-LM's `f` and `g`).
enum TensorParallelRegion {
    /// Enters a region (the input of column-parallel layers): the same tensor forward; in backward each rank holds
    /// the gradient of its own slice's contribution, which are summed over the group.
    static func enter(_ x: Tensor, _ group: any TensorParallelCommunicator) throws -> Tensor {
        try CustomFunction.apply(
            name: "TensorParallelEnterBackward", inputs: [x], forward: { [try $0[0].clone()] },
            backward: { gradients in [try gradients[0].map { try group.allReduceSum($0) }] })[0]
    }

    /// Sequence parallelism's gather into column-parallel layers, overlapped with their products (async tensor
    /// parallelism, as Megatron-LM's and torchtitan's): the gather of the other ranks' parts of the sequence starts,
    /// this rank's part is multiplied by every weight meanwhile, then the parts that arrived; in backward the input
    /// gradient's reduce-scatter starts and the weights' gradients are computed meanwhile. Returns `x_whole · Wᵢᵀ`
    /// for each weight, over the whole sequence in rank order (biases are the caller's).
    static func gatherSequenceIntoProducts(_ x: Tensor, weights: [Tensor], _ group: any TensorParallelCommunicator) throws -> [Tensor] {
        let (size, rank, part) = (group.size, group.rank, x.size(1))
        let kept = GatheredInput()
        return try CustomFunction.apply(
            name: "SequenceParallelGatherLinearBackward", inputs: [x] + weights,
            forward: { inputs in
                let local = try inputs[0].contiguous()
                let weights = inputs.dropFirst()
                let arriving = try group.allGatherStarted(local, dim: 1)
                let localProducts = try weights.map { try Functional.linear(local, weight: $0, bias: nil) }
                let whole = try arriving()
                kept.whole = whole
                return try zip(weights, localProducts).map { weight, localProduct in
                    let parts = try (0..<size).map { other in
                        other == rank
                            ? localProduct
                            : try Functional.linear(whole.narrow(1, start: other * part, length: part), weight: weight, bias: nil)
                    }
                    return try Tensor.cat(parts, dim: 1)
                }
            },
            backward: { gradients in
                // Kept with the graph: a retained graph (zero-bubble schedules) runs this backward twice.
                guard let whole = kept.whole else { throw TorchError.invalidArgument("the gathered input is missing in backward") }
                var inputGradient: Tensor?
                for (gradient, weight) in zip(gradients, weights) {
                    guard let gradient else { continue }
                    let term = try gradient.matmul(weight)
                    inputGradient = try inputGradient.map { try $0 + term } ?? term
                }
                let scattering = try inputGradient.map { try group.reduceScatterStarted($0.contiguous(), dim: 1) }
                let flatInput = try whole.reshape([-1, whole.size(-1)])
                let weightGradients = try gradients.map { gradient in
                    try gradient.map { try $0.reshape([-1, $0.size(-1)]).transpose(0, 1).matmul(flatInput) }
                }
                return [try scattering?()] + weightGradients
            })
    }

    /// The whole input a gather-into-products forward keeps for its backward.
    private final class GatheredInput: @unchecked Sendable {  // written in forward, read once in backward
        var whole: Tensor?
    }

    /// Gathers the parts of the sequence (dimension 1) the ranks hold (sequence parallelism's `g`): in backward the
    /// gradients, partial on each rank, are summed and each rank keeps its part.
    static func gatherSequence(_ x: Tensor, _ group: any TensorParallelCommunicator) throws -> Tensor {
        try CustomFunction.apply(
            name: "SequenceParallelGatherBackward", inputs: [x], forward: { [try group.allGather($0[0].contiguous(), dim: 1)] },
            backward: { gradients in [try gradients[0].map { try group.reduceScatter($0.contiguous(), dim: 1) }] })[0]
    }

    /// Sums partial products over the group and keeps this rank's part of the sequence (sequence parallelism's
    /// `ḡ`, a row-parallel layer's output): in backward the parts of the gradient are gathered.
    static func scatterSequence(_ x: Tensor, _ group: any TensorParallelCommunicator) throws -> Tensor {
        try CustomFunction.apply(
            name: "SequenceParallelScatterBackward", inputs: [x], forward: { [try group.reduceScatter($0[0].contiguous(), dim: 1)] },
            backward: { gradients in [try gradients[0].map { try group.allGather($0.contiguous(), dim: 1) }] })[0]
    }

    /// The logits of each rank's part of the vocabulary put together along the last dimension; in backward each
    /// rank keeps the gradient of its own part.
    static func gatherVocabulary(_ x: Tensor, _ group: any TensorParallelCommunicator) throws -> Tensor {
        let dim = x.shape.count - 1
        let width = x.size(dim)
        return try CustomFunction.apply(
            name: "TensorParallelGatherBackward", inputs: [x], forward: { [try group.allGather($0[0].contiguous(), dim: dim)] },
            backward: { gradients in [try gradients[0].map { try $0.narrow(dim, start: group.rank * width, length: width).contiguous() }] }
        )[0]
    }

    /// Leaves a region (the output of row-parallel layers): partial products summed over the group forward; the
    /// gradient, the same on every rank, passes through.
    static func leave(_ x: Tensor, _ group: any TensorParallelCommunicator) throws -> Tensor {
        try CustomFunction.apply(
            name: "TensorParallelLeaveBackward", inputs: [x], forward: { [try group.allReduceSum($0[0])] },
            backward: { gradients in [gradients[0]] })[0]
    }
}

/// A model whose parameters may be one rank's slices of whole ones (tensor parallelism). Initialisation draws each
/// whole parameter and keeps the slice, so a model starts from the same weights in any layout; checkpoints and the
/// parameter count speak of the whole shapes.
public protocol SlicedParameterModel: Model {
    /// This rank's place in its tensor-parallel group; nil for a model held whole.
    var tensorParallel: TensorParallelShard? { get }
}

extension SlicedParameterModel {
    /// The number of ranks the split parameters are spread over (1 for a model held whole).
    public var tensorParallelDegree: Int { tensorParallel?.size ?? 1 }

    /// Whether some parameter is a slice.
    public var isSliced: Bool { tensorParallelDegree > 1 }

    /// The whole parameter's shape (the parameter's own when it is not split).
    public func wholeShape(of name: String) throws -> [Int] {
        guard let tensor = parameters.tensors[name] else { throw ModelError.missingParameter(name) }
        return tensorParallel?.wholeShape(of: name, sliceShape: tensor.shape) ?? tensor.shape
    }

    /// This rank's slice of the whole parameter `name`.
    public func slice(ofWhole whole: Tensor, name: String) throws -> Tensor {
        try tensorParallel?.slice(of: whole, name: name) ?? whole
    }
}

/// How one forward pass crosses a tensor-parallel group. With sequence parallelism (Modalities' plan: norms and
/// the residual stream on `SequenceParallel`), the activations between the parallel regions are split along the
/// sequence: the regions gather it on entry and reduce-scatter on exit instead of passing it through and summing,
/// and replicated parameters used on a part of the sequence (norms, row-parallel biases) hold each rank's part of
/// their gradient, summed over the group once per optimizer step in one bucket
/// (``GPT2LLM/sumSequenceParallelGradients(of:)``, as Megatron-LM's `allreduce_sequence_parallel_grads`), not one
/// all-reduce per parameter and layer. Without it the activations between regions are whole on every rank.
struct TensorParallelForward {
    let group: any TensorParallelCommunicator
    let sequenceParallel: Bool
    let overlapsCollectives: Bool

    /// Sequence parallelism where the sequence splits evenly and no cache is extended (generation keeps it whole).
    init(shard: TensorParallelShard, length: Int, caching: Bool) {
        group = shard.communicator
        sequenceParallel = !caching && length % group.size == 0
        overlapsCollectives = shard.overlapsCollectives
    }

    /// Whether column-parallel layers take their input through
    /// ``TensorParallelRegion/gatherSequenceIntoProducts(_:weights:_:)`` (the gather overlapped with the products):
    /// when the shard asks for it, under sequence parallelism in float32, outside autocast (whose casts the hand-written backward would have to
    /// repeat) and outside selective op checkpointing (which keeps products of its own).
    func overlapsGather(_ x: Tensor, kept: OperatorOutputCache?) -> Bool {
        overlapsCollectives && sequenceParallel && kept == nil && x.dtype == .float32 && Autocast.dtype(device: x.device) == nil
    }

    /// The outputs of the column-parallel `layers` on `x`, this rank's part of the sequence, with the gather
    /// overlapped (see ``overlapsGather(_:kept:)``).
    func columnParallel(_ x: Tensor, _ layers: [Linear]) throws -> [Tensor] {
        let products = try TensorParallelRegion.gatherSequenceIntoProducts(x, weights: layers.map(\.weight), group)
        return try zip(products, layers).map { product, layer in try layer.bias.map { try product + $0 } ?? product }
    }

    /// The input of column-parallel layers.
    func enter(_ x: Tensor) throws -> Tensor {
        sequenceParallel ? try TensorParallelRegion.gatherSequence(x, group) : try TensorParallelRegion.enter(x, group)
    }

    /// The output of row-parallel layers (and of the split embeddings): partial products summed.
    func leave(_ x: Tensor) throws -> Tensor {
        sequenceParallel ? try TensorParallelRegion.scatterSequence(x, group) : try TensorParallelRegion.leave(x, group)
    }

}

extension GPT2LLM {
    /// Sums over the tensor-parallel group, in one all-reduce, the gradients of the replicated parameters (norms,
    /// row-parallel biases) when a forward ran sequence-parallel since the last call: each rank's gradient then holds
    /// only its part of the sequence. `parameters` is where the gradients are: the model's own, or a wrapper's that
    /// holds its chunks (FSDP: summing chunks over the group equals chunking the sums, the tensor-parallel ranks of a
    /// shard holding the same chunk). Call it once per optimizer step, after the data-parallel reduction and before
    /// clipping; without a pending sequence-parallel forward it does nothing.
    public func sumSequenceParallelGradients(of parameters: ParameterStore? = nil) throws {
        guard sequenceParallelGradientsPending, let tensorParallel, tensorParallel.size > 1 else { return }
        sequenceParallelGradientsPending = false
        let grads = (parameters ?? self.parameters).named.compactMap { entry in
            TensorParallelShard.split(of: entry.name) == .replicated ? entry.tensor.grad : nil
        }
        guard !grads.isEmpty else { return }
        try Autograd.noGrad {
            let flat = try Tensor.cat(try grads.map { try $0.flatten().to(dtype: .float32) })
            let summed = try tensorParallel.communicator.allReduceSum(flat)
            var offset = 0
            for grad in grads {
                _ = try grad.copy_(try summed.narrow(0, start: offset, length: grad.count).view(grad.shape))
                offset += grad.count
            }
        }
    }
}
