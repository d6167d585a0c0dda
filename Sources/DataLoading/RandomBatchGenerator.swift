import Torch

/// Random batches for profiling without data (`dataset_batch_generator/random`): inputs under `input_ids` and
/// targets under `target_ids` of the shape `dims` lists (its values in order, e.g. batch size then sequence length),
/// integers in `minimum..<maximum`, or floats uniform in that range.
public final class RandomBatchGenerator: @unchecked Sendable {  // one generator per component; used by one thread
    /// The element type of the batches.
    public enum ElementType: String, Sendable, CaseIterable {
        case int64, float32, bfloat16
    }

    public let shape: [Int]
    public let elementType: ElementType
    public let minimum: Int
    public let maximum: Int
    public let device: Device

    /// - Throws: ``DatasetError/invalidArgument(_:)`` for an empty range or a non-positive dimension.
    public init(shape: [Int], elementType: ElementType, minimum: Int, maximum: Int, device: Device) throws {
        guard minimum < maximum else {
            throw DatasetError.invalidArgument("min_val must be below max_val, found \(minimum) and \(maximum)")
        }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.invalidArgument("dims must be positive sizes, found \(shape)")
        }
        self.shape = shape
        self.elementType = elementType
        self.minimum = minimum
        self.maximum = maximum
        self.device = device
    }

    /// A new random batch on the generator's device.
    public func nextBatch() throws -> DatasetBatch {
        func values() throws -> Tensor {
            switch elementType {
            case .int64: return try Tensor.randint(minimum, maximum, shape, device: device)
            case .float32, .bfloat16:
                let uniform = try Tensor.rand(shape, dtype: elementType == .float32 ? .float32 : .bfloat16, device: device)
                return try uniform * Double(maximum - minimum) + Double(minimum)
            }
        }
        return DatasetBatch(samples: ["input_ids": try values()], targets: ["target_ids": try values()], size: shape[0])
    }
}
