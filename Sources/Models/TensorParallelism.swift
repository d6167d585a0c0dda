import Torch

/// The ranks one layer's matrices are split over (Megatron-LM's tensor-parallel group). Models only need its sum;
/// Parallelism implements it over a c10d process group.
public protocol TensorParallelCommunicator: AnyObject {
    /// Ranks in the group.
    var size: Int { get }
    /// This rank's place in the group, 0 ..< size.
    var rank: Int { get }
    /// The element-wise sum of `tensor` over the group's ranks; every rank gets the same result.
    func allReduceSum(_ tensor: Tensor) throws -> Tensor
}

/// Where a model stands in a tensor-parallel group: which slice of each split matrix it holds.
///
/// GPT2LLM's layout is Megatron-LM's: the attention's query, key and value projections and the MLP's input
/// projections (`c_fc`, SwiGLU's `W` and `V`) are split by output rows (column-parallel: each rank computes its
/// heads and its part of the hidden layer); the attention's and the MLP's output projections (`c_proj`, `W_2`) are
/// split by input columns (row-parallel: each rank's partial products are summed over the group, and the bias is
/// added once after the sum). Embeddings, norms and the language-model head are replicated.
public struct TensorParallelShard {
    public let communicator: any TensorParallelCommunicator

    public init(communicator: any TensorParallelCommunicator) {
        self.communicator = communicator
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
    }

    /// The split of `name` in GPT2LLM's layout.
    public static func split(of name: String) -> Split {
        let columnParallel = [".attn.q_attn.", ".attn.k_attn.", ".attn.v_attn.", ".mlp.c_fc.", ".mlp.W.", ".mlp.V."]
        if columnParallel.contains(where: name.contains) { return .rows }
        let rowParallel = [".attn.c_proj.weight", ".mlp.c_proj.weight", ".mlp.W_2.weight"]
        if rowParallel.contains(where: name.hasSuffix) { return .columns }
        return .replicated
    }

    /// This rank's slice of the whole parameter `name`.
    public func slice(of whole: Tensor, name: String) throws -> Tensor {
        switch Self.split(of: name) {
        case .replicated: return whole
        case .rows: return try whole.chunk(size, dim: 0)[rank].contiguous()
        case .columns: return try whole.chunk(size, dim: 1)[rank].contiguous()
        }
    }

    /// Checks that `config` splits evenly: heads, kv heads and the MLP's hidden size divisible by the group's size.
    func validate(_ config: GPT2LLMConfig) throws { try Self.validate(config, degree: size) }

    /// Checks that `config` splits evenly over `degree` ranks: heads, kv heads and the MLP's hidden size divisible
    /// by it.
    public static func validate(_ config: GPT2LLMConfig, degree size: Int) throws {
        let hidden = config.activation == .swiglu ? ("the SwiGLU hidden size", config.swigluHidden) : ("ffn_hidden", config.ffnHidden)
        for (field, value) in [("n_head_q", config.queryHeads), ("n_head_kv", config.keyValueHeads), hidden] where value % size != 0 {
            throw ModelError.invalidConfig(
                "\(field) (\(value)) must be divisible by the tensor-parallel degree (\(size)); \(value) / \(size) = \(Double(value) / Double(size))")
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
    /// The number of ranks the split parameters are spread over (1 for a model held whole).
    var tensorParallelDegree: Int { get }
    /// The whole parameter's shape (the parameter's own when it is not split).
    func wholeShape(of name: String) throws -> [Int]
    /// This rank's slice of the whole parameter `name`.
    func slice(ofWhole whole: Tensor, name: String) throws -> Tensor
}

extension SlicedParameterModel {
    /// Whether some parameter is a slice.
    public var isSliced: Bool { tensorParallelDegree > 1 }
}
