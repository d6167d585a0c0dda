import Foundation
import Models
import Torch

/// A model whose forward computes in a lower precision while its parameters (the master weights the optimizer
/// updates) stay float32: `model/fsdp2_wrapped`'s `mixed_precision_settings` on one rank.
///
/// The forward runs under autocast to `computeDType`; floating-point outputs come back as float32 so the loss and
/// its gradient start in full precision.
public final class MixedPrecisionModel: WrappingModel {
    public let wrapped: any Model
    /// Nil computes in the parameters' own precision (`param_dtype: FP_32`).
    public let computeDType: DType?

    public init(wrapping model: any Model, computeDType: DType?) throws {
        if let computeDType, ![.bfloat16, .float16].contains(computeDType) {
            throw ParallelismError.invalidConfig("mixed precision computes in bf16 or fp16, not \(computeDType)")
        }
        wrapped = model
        self.computeDType = computeDType
    }

    public var parameters: ParameterStore { wrapped.parameters }
    public var seed: UInt64 { wrapped.seed }
    public var weightDecayGroups: [String: [String]] { wrapped.weightDecayGroups }

    public func forward(_ inputs: [String: Tensor], training: Bool) throws -> [String: Tensor] {
        guard let computeDType else { return try wrapped.forward(inputs, training: training) }
        let device = parameters.named.first?.tensor.device ?? .cpu
        let outputs = try Autocast.scope(device: device, dtype: computeDType) { try wrapped.forward(inputs, training: training) }
        return try outputs.mapValues { $0.dtype.isFloatingPoint && $0.dtype != .float32 ? try $0.to(dtype: .float32) : $0 }
    }
}

extension MixedPrecisionModel {
    /// The type `model` computes in: the compute type of its mixed precision when it has one, else its parameters'.
    public static func computeDType(of model: any Model) -> DType {
        // A pipeline's parts are wrapped alike: the first one's.
        if let pipeline = model as? PipelineModelParts { return computeDType(of: pipeline.parts[0]) }
        return model.unwrapped(as: MixedPrecisionModel.self)?.computeDType ?? model.parameters.named.first?.tensor.dtype ?? .float32
    }

    /// ``computeDType(of:)`` as logs name it ("fp32", "bf16", "fp16", "fp64").
    public static func precisionLabel(of model: any Model) -> String {
        switch computeDType(of: model) {
        case .bfloat16: return "bf16"
        case .float16: return "fp16"
        case .float64: return "fp64"
        default: return "fp32"
        }
    }
}
