import Torch

/// Wraps a collator and keeps in the loss only the targets between a begin and an end marker token, exclusive of
/// both (`collate_fn/mask_loss_collator_wrapper`): every other target becomes `lossIgnoreIndex`, which the loss
/// leaves out of its mean.
///
/// Markers are read per row left to right: a begin marker opens the span from the next token on, an end marker
/// closes it. A row may end inside a span, and a row that starts inside a span (the end marker comes first) is an
/// error, as are two begin markers in a row: packing must keep whole conversations in a sample (padding and
/// truncation). A batch without any begin marker, or without any end marker, has all its targets masked and a
/// warning says why, as Modalities does.
public struct LossMaskingCollator: Collator {
    public let wrapped: any Collator
    public let targetKeys: [String]
    public let lossIgnoreIndex: Int
    public let beginMarker: Int
    public let endMarker: Int
    let warn: @Sendable (String) -> Void

    /// - Throws: ``DatasetError/invalidArgument(_:)`` when both markers are the same token.
    public init(
        wrapping wrapped: any Collator, targetKeys: [String], lossIgnoreIndex: Int, beginMarker: Int, endMarker: Int,
        warn: @escaping @Sendable (String) -> Void
    ) throws {
        guard beginMarker != endMarker else {
            throw DatasetError.invalidArgument(
                "mask_tokens.b_include_to_loss_token and e_include_to_loss_token must be different tokens (both are id \(beginMarker))")
        }
        self.wrapped = wrapped
        self.targetKeys = targetKeys
        self.lossIgnoreIndex = lossIgnoreIndex
        self.beginMarker = beginMarker
        self.endMarker = endMarker
        self.warn = warn
    }

    public func collate(_ samples: [Sample]) throws -> DatasetBatch {
        var batch = try wrapped.collate(samples)
        for key in targetKeys {
            guard let target = batch.targets[key] else {
                throw DatasetError.invalidArgument(
                    "target_keys_to_mask names '\(key)', but the wrapped collator makes targets \(batch.targets.keys.sorted())")
            }
            let shape = target.shape
            let values = try target.toArray(Int.self)
            let masked = try mask(values, rowLength: shape.last ?? values.count)
            batch.targets[key] = try Tensor(masked, shape: shape)
        }
        return batch
    }

    /// The targets with everything outside the marker spans replaced by `lossIgnoreIndex`.
    func mask(_ target: [Int], rowLength: Int) throws -> [Int] {
        guard target.contains(beginMarker) else {
            warn(
                "loss masking: no b_include_to_loss_token (id \(beginMarker)) in this batch's targets, so none of them count; check that the tokenizer keeps the marker a single token (' <token>' and '<token>' differ) and that no conversation's first turns fill the whole sequence"
            )
            return [Int](repeating: lossIgnoreIndex, count: target.count)
        }
        guard target.contains(endMarker) else {
            warn(
                "loss masking: no e_include_to_loss_token (id \(endMarker)) in this batch's targets, so none of them count; check that the tokenizer keeps the marker a single token"
            )
            return [Int](repeating: lossIgnoreIndex, count: target.count)
        }
        var result = target
        for rowStart in stride(from: 0, to: target.count, by: max(rowLength, 1)) {
            var inside = 0
            for i in rowStart..<min(rowStart + rowLength, target.count) {
                // The begin marker opens the span from the next position; the end marker closes it at its own.
                if i > rowStart, target[i - 1] == beginMarker { inside += 1 }
                if target[i] == endMarker { inside -= 1 }
                guard inside == 0 || inside == 1 else {
                    throw DatasetError.invalidArgument(
                        "loss masking: row \(rowStart / max(rowLength, 1)) of the batch has "
                            + (inside < 0
                                ? "an e_include_to_loss_token before its b_include_to_loss_token (target position \(i - rowStart))"
                                : "two b_include_to_loss_tokens without an e_include_to_loss_token between them (target position \(i - rowStart))")
                            + "; markers must alternate begin, end — pack conversations whole (padding and truncation to the sequence length)"
                    )
                }
                if inside == 0 { result[i] = lossIgnoreIndex }
            }
        }
        return result
    }
}
