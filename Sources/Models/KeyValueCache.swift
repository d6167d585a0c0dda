import Torch

/// Keys and values of the tokens seen so far, per layer, so generation computes each new token only once.
public final class KeyValueCache {
    /// Tokens held.
    public internal(set) var length = 0
    private var keys: [Int: Tensor] = [:]
    private var values: [Int: Tensor] = [:]

    public init() {}

    /// Appends a layer's new keys and values (batch, heads, new tokens, head size); returns all of them.
    func append(layer: Int, keys newKeys: Tensor, values newValues: Tensor) throws -> (Tensor, Tensor) {
        let allKeys = try keys[layer].map { try Tensor.cat([$0, newKeys], dim: 2) } ?? newKeys
        let allValues = try values[layer].map { try Tensor.cat([$0, newValues], dim: 2) } ?? newValues
        keys[layer] = allKeys
        values[layer] = allValues
        return (allKeys, allValues)
    }
}
