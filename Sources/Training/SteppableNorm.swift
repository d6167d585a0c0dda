import DataLoading
import Models
import Torch

/// `steppable_component/steppable_norm`, the component Modalities' profiling tutorial registers for its
/// single-process example: a normalisation layer applied to each generated batch's `input_ids` (inference, no
/// gradients), to time a norm on its own.
public final class SteppableNorm: SteppableComponent {
    public let norm: Normalization
    public let batches: RandomBatchGenerator

    public init(norm: Normalization, batches: RandomBatchGenerator) {
        self.norm = norm
        self.batches = batches
    }

    public func step() throws {
        let input = try batches.nextBatch().samples["input_ids"]!
        try Autograd.noGrad {
            // The norm's parameters are float32; a batch of another float type is normalised in float32.
            let x = input.dtype == norm.weight.dtype ? input : try input.to(dtype: norm.weight.dtype)
            _ = try norm(x)
        }
    }
}
