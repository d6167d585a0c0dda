import Torch

/// A trainable model as the training driver sees it: named parameters and a forward from batch inputs by key
/// to predictions by key (Modalities' `NNModel`).
public protocol Model: AnyObject {
    var parameters: ParameterStore { get }
    /// Seed for initialisation.
    var seed: UInt64 { get }
    /// Parameter groups by name for weight-decay exclusion: group → name patterns (substrings).
    var weightDecayGroups: [String: [String]] { get }
    func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor]
    /// Elements of all parameters of the whole model (sharded wrappers count the full tensors, not their shards).
    var parameterCount: Int { get }
}

extension Model {
    public var parameterCount: Int { parameters.named.reduce(0) { $0 + $1.tensor.count } }

    /// This model, or the first model of type `T` found by unwrapping ``WrappingModel``s.
    public func unwrapped<T>(as type: T.Type) -> T? {
        var current: any Model = self
        while true {
            if let found = current as? T { return found }
            guard let wrapper = current as? WrappingModel else { return nil }
            current = wrapper.wrapped
        }
    }
}

/// A model that adds behaviour (mixed precision, data parallelism, sharding) around another.
public protocol WrappingModel: Model {
    var wrapped: any Model { get }
}

extension WrappingModel {
    /// The wrapped model's count (whole tensors, whatever slices or chunks the wrappers hold).
    public var parameterCount: Int { wrapped.parameterCount }
}

/// Runs one transformer block: given the block's index, its input and the block itself, returns its output.
/// Wrappers such as FSDP gather the block's parameters before calling `body` and free them after.
public typealias BlockWrapper = (_ block: Int, _ input: Tensor, _ body: (Tensor) throws -> Tensor) throws -> Tensor

/// A model made of a stack of blocks whose parameters are named `<prefix>.<index>.` (FSDP's wrapping units).
public protocol BlockStructuredModel: Model {
    /// How many blocks the stack has.
    var blockCount: Int { get }
    /// The name prefix shared by the parameters of `block` (e.g. `transformer.h.3.`).
    func blockParameterPrefix(_ block: Int) -> String
    /// Called around every block in forward; nil runs the blocks directly.
    var blockWrapper: BlockWrapper? { get set }
}

/// Initialises a model's parameters in place (Modalities' `ModelInitializationIF`).
public protocol ModelInitializer: Sendable {
    /// Draws the initial values from `seed`: every draw fills one whole parameter, and goes through `apply`
    /// (called with the parameter's name, its tensor and the fill) in the order the draws happen.
    func initialize(_ parameters: ParameterStore, seed: UInt64, applying apply: ParameterFill) throws
}

/// How an initializer's draw reaches a parameter: `fill` writes the whole parameter's values into the tensor it is
/// given. In place by default; FSDP passes a scratch tensor and keeps its chunk, one parameter at a time.
public typealias ParameterFill = (_ name: String, _ parameter: Tensor, _ fill: (Tensor) throws -> Void) throws -> Void

extension ModelInitializer {
    /// Initialises `parameters` in place; deferred parameters are allocated as their draw comes, the rest (norm
    /// weights, which no initializer draws) with their starting values at the end.
    public func initialize(_ parameters: ParameterStore, seed: UInt64) throws {
        try initialize(parameters, seed: seed) { name, tensor, fill in
            try parameters.allocate(name)
            guard tensor.device != .cpu else { return try fill(tensor) }
            // Draws come from a CPU generator: the same values on every device.
            let scratch = try Tensor.empty(tensor.shape, dtype: tensor.dtype)
            try fill(scratch)
            _ = try Autograd.noGrad { try tensor.copy_(scratch) }
        }
        try parameters.allocateAll()
    }
}

extension ModelInitializer {
    /// Initialises `model` (or the model it wraps) in place. Where it holds slices of whole parameters (tensor
    /// parallelism), each whole parameter is drawn into a scratch tensor and this rank keeps its slice: the values
    /// are those of the model initialised whole, whatever the layout.
    public func initialize(_ model: any Model, seed: UInt64) throws {
        if let stage = model.unwrapped(as: GPT2LLM.self), stage.pipelineStage != nil {
            // A pipeline stage: every whole parameter of the model is drawn in turn (so the generator advances as for
            // the whole model), and the stage keeps its own (their tensor-parallel slice, when split).
            try initialize(try stage.wholeModelLayout().parameters, seed: seed) { name, tensor, fill in
                let scratch = try Tensor.empty(tensor.shape, dtype: tensor.dtype)
                try fill(scratch)
                guard stage.parameters.tensors[name] != nil else { return }
                try stage.parameters.load(name, from: try stage.slice(ofWhole: scratch, name: name))
            }
            return try stage.parameters.allocateAll()
        }
        guard let sliced = model.unwrapped(as: (any SlicedParameterModel).self), sliced.isSliced else {
            return try initialize(model.parameters, seed: seed)
        }
        let parameters = sliced.parameters
        try initialize(parameters, seed: seed) { name, tensor, fill in
            let scratch = try Tensor.empty(try sliced.wholeShape(of: name), dtype: tensor.dtype)
            try fill(scratch)
            try parameters.load(name, from: try sliced.slice(ofWhole: scratch, name: name))
        }
        try parameters.allocateAll()
    }
}

extension ComposedInitialization: ModelInitializer {}

/// A normalisation layer on its own, as the `layer_norm/*` components give it.
public struct Normalization {
    let norm: Norm
    /// The kind, epsilon and bias it was made with.
    public let config: GPT2LLMConfig.Norm

    public init(size: Int, config: GPT2LLMConfig.Norm) throws {
        norm = try Norm("norm", size: size, config: config, in: ParameterStore(dtype: .float32))
        self.config = config
    }

    public var weight: Tensor { norm.weight }
    public var bias: Tensor? { norm.bias }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try norm(x) }
}
