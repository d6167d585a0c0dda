import Torch

/// Modalities' `collate_fn/coca_collator`: stacks every sample key (images as float32, token ids as int64) and
/// every target key, then shifts the text by one: the text sample key keeps all but the last token, and the text
/// target key (made here) all but the first.
public struct CoCaCollator: Collator {
    public let sampleKeys: [String]
    public let targetKeys: [String]
    public let textSampleKey: String
    public let textTargetKey: String

    /// Throws, as Modalities does, when the text sample key is not a sample key or the text target key is already a
    /// target key.
    public init(sampleKeys: [String], targetKeys: [String], textSampleKey: String, textTargetKey: String) throws {
        guard sampleKeys.contains(textSampleKey) else {
            throw DatasetError.invalidArgument("text_sample_key '\(textSampleKey)' is not one of sample_keys \(sampleKeys)")
        }
        guard !targetKeys.contains(textTargetKey) else {
            throw DatasetError.invalidArgument(
                "text_target_key '\(textTargetKey)' must not be one of target_keys \(targetKeys): the collator makes it from '\(textSampleKey)'")
        }
        self.sampleKeys = sampleKeys
        self.targetKeys = targetKeys
        self.textSampleKey = textSampleKey
        self.textTargetKey = textTargetKey
    }

    public func collate(_ samples: [Sample]) throws -> DatasetBatch {
        var inputs: [String: Tensor] = [:]
        for key in sampleKeys { inputs[key] = try samples.stacked(key) }
        var targets: [String: Tensor] = [:]
        for key in targetKeys { targets[key] = try samples.stacked(key) }
        let text = inputs[textSampleKey]!
        guard text.shape.count == 2, text.size(1) > 1, !text.dtype.isFloatingPoint else {
            throw DatasetError.invalidArgument(
                "'\(textSampleKey)' must hold token ids, at least 2 per sample, to be shifted into '\(textTargetKey)'; found \(text.dtype) of shape \(text.shape)"
            )
        }
        let length = text.size(1)
        targets[textTargetKey] = try text.narrow(1, start: 1, length: length - 1).contiguous()
        inputs[textSampleKey] = try text.narrow(1, start: 0, length: length - 1).contiguous()
        return DatasetBatch(samples: inputs, targets: targets, size: samples.count)
    }
}
