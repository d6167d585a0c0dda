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
}

/// Initialises a model's parameters in place (Modalities' `ModelInitializationIF`).
public protocol ModelInitializer: Sendable {
    func initialize(_ parameters: ParameterStore, seed: UInt64) throws
}

extension ComposedInitialization: ModelInitializer {}

/// A normalisation layer on its own, as the `layer_norm/*` components give it.
public struct Normalization {
    let norm: Norm

    public init(size: Int, config: GPT2LLMConfig.Norm) throws {
        norm = try Norm("norm", size: size, config: config, in: ParameterStore(dtype: .float32))
    }

    public var weight: Tensor { norm.weight }
    public var bias: Tensor? { norm.bias }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try norm(x) }
}
