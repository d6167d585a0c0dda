/// Byte-pair merging over token ids: repeatedly merges the adjacent pair with the best rank (leftmost on ties).
///
/// One engine serves three vocabularies: Hugging Face merges (rank = merge line), tiktoken ranks (rank = the
/// merged token's rank) and SentencePiece BPE (rank = score order, equal scores share a rank).
struct BytePairModel: Sendable {
    /// `(left id << 32 | right id)` → `(rank << 32 | merged id)`.
    private let merges: PairTable
    let mergeCount: Int

    init(merges: [UInt64: UInt64]) {
        self.merges = PairTable(merges)
        self.mergeCount = merges.count
    }

    static func key(_ left: Int, _ right: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: left)) << 32 | UInt64(UInt32(truncatingIfNeeded: right))
    }
    static func value(rank: Int, merged: Int) -> UInt64 { UInt64(UInt32(rank)) << 32 | UInt64(UInt32(merged)) }

    /// Merges `symbols` in place.
    func merge(_ symbols: inout [Int]) {
        guard symbols.count > 1 else { return }
        if symbols.count <= 64 {
            mergeQuadratic(&symbols)
        } else {
            mergeHeap(&symbols)
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

    /// Long sequences (SentencePiece-style words span a whole paragraph): a heap of candidate pairs over a linked
    /// list, O(n log n). Stale candidates are skipped when popped.
    private func mergeHeap(_ symbols: inout [Int]) {
        let count = symbols.count
        var next = Array(1...count)
        var previous = Array(-1..<(count - 1))
        var alive = [Bool](repeating: true, count: count)
        var heap = BinaryHeap<Candidate>()
        func consider(_ left: Int) {
            guard left >= 0 else { return }
            let right = next[left]
            guard right < count, let found = merges[BytePairModel.key(symbols[left], symbols[right])] else { return }
            heap.push(
                Candidate(
                    rank: UInt32(found >> 32), left: Int32(left), right: Int32(right),
                    leftID: Int32(truncatingIfNeeded: symbols[left]), rightID: Int32(truncatingIfNeeded: symbols[right]),
                    merged: Int32(truncatingIfNeeded: found)))
        }
        for index in 0..<(count - 1) { consider(index) }
        while let candidate = heap.pop() {
            let left = Int(candidate.left)
            let right = Int(candidate.right)
            guard alive[left], alive[right], next[left] == right,
                Int32(truncatingIfNeeded: symbols[left]) == candidate.leftID,
                Int32(truncatingIfNeeded: symbols[right]) == candidate.rightID
            else { continue }
            symbols[left] = Int(candidate.merged)
            alive[right] = false
            next[left] = next[right]
            if next[right] < count { previous[next[right]] = left }
            consider(previous[left])
            consider(left)
        }
        var result: [Int] = []
        result.reserveCapacity(count)
        var index = 0
        while index < count {
            result.append(symbols[index])
            index = next[index]
        }
        symbols = result
    }
}

/// A possible merge of the symbols at `left` and `right`, valid while both still hold the recorded ids.
struct Candidate: Comparable {
    var rank: UInt32
    var left: Int32
    var right: Int32
    var leftID: Int32
    var rightID: Int32
    var merged: Int32

    /// Best rank first, leftmost first among equals.
    static func < (a: Candidate, b: Candidate) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.left < b.left
    }
}
