/// A binary min-heap: the smallest element (by `<`) comes out first. Generic over `Comparable` rather than a
/// closure so the comparisons are specialized in the hot loops that use it.
struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    init() {}

    @inline(__always)
    private func precedes(_ a: Element, _ b: Element) -> Bool { a < b }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                var best = parent
                if left < items.count && precedes(items[left], items[best]) { best = left }
                if left + 1 < items.count && precedes(items[left + 1], items[best]) { best = left + 1 }
                guard best != parent else { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return first
    }
}
