/// Byte-pair merging over token ids: repeatedly merges the adjacent pair with the best rank (leftmost on ties).
///
/// One engine serves three vocabularies: Hugging Face merges (rank = merge line), tiktoken ranks (rank = the
/// merged token's rank) and SentencePiece BPE (rank = score order, equal scores share a rank).
struct BytePairModel: Sendable {
    /// `(left id << 32 | right id)` → `(rank << 32 | merged id)`.
    private let merges: [UInt64: UInt64]

    init(merges: [UInt64: UInt64]) {
        self.merges = merges
    }

    static func key(_ left: Int, _ right: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: left)) << 32 | UInt64(UInt32(truncatingIfNeeded: right))
    }
    static func value(rank: Int, merged: Int) -> UInt64 { UInt64(UInt32(rank)) << 32 | UInt64(UInt32(merged)) }

    var mergeCount: Int { merges.count }

    /// Merges `symbols` in place.
    func merge(_ symbols: inout [Int]) {
        guard symbols.count > 1 else { return }
        if symbols.count <= 64 {
            mergeQuadratic(&symbols)
        } else {
            mergeLinked(&symbols)
        }
    }

    /// Short words: rescan all pairs after each merge.
    private func mergeQuadratic(_ symbols: inout [Int]) {
        while symbols.count > 1 {
            var bestRank = UInt64.max
            var bestIndex = -1
            var bestMerged = 0
            for index in 0..<(symbols.count - 1) {
                if let found = merges[BytePairModel.key(symbols[index], symbols[index + 1])], found >> 32 < bestRank {
                    bestRank = found >> 32
                    bestIndex = index
                    bestMerged = Int(UInt32(truncatingIfNeeded: found))
                }
            }
            guard bestIndex >= 0 else { return }
            symbols[bestIndex] = bestMerged
            symbols.remove(at: bestIndex + 1)
        }
    }

    /// Long runs (no spaces for thousands of characters): a linked list with cached pair ranks.
    private func mergeLinked(_ symbols: inout [Int]) {
        let count = symbols.count
        var next = Array(1...count)
        var previous = Array(-1..<(count - 1))
        var alive = [Bool](repeating: true, count: count)
        var ranks = [UInt64](repeating: .max, count: count)
        func rankAt(_ index: Int) -> UInt64 {
            let right = next[index]
            guard right < count else { return .max }
            return merges[BytePairModel.key(symbols[index], symbols[right])] ?? .max
        }
        for index in 0..<count { ranks[index] = rankAt(index) }
        while true {
            var best = UInt64.max
            var bestIndex = -1
            var index = 0
            while index < count {
                let candidate = ranks[index]
                if candidate != .max && (bestIndex < 0 || candidate >> 32 < best >> 32) {
                    best = candidate
                    bestIndex = index
                }
                index = next[index]
            }
            guard bestIndex >= 0 else { break }
            let right = next[bestIndex]
            symbols[bestIndex] = Int(UInt32(truncatingIfNeeded: best))
            alive[right] = false
            next[bestIndex] = next[right]
            if next[right] < count { previous[next[right]] = bestIndex }
            ranks[bestIndex] = rankAt(bestIndex)
            if previous[bestIndex] >= 0 { ranks[previous[bestIndex]] = rankAt(previous[bestIndex]) }
        }
        var result: [Int] = []
        var index = 0
        while index < count {
            if alive[index] { result.append(symbols[index]) }
            index = next[index]
        }
        symbols = result
    }
}
