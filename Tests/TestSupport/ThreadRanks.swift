import Foundation

/// Runs `body` once per rank on `count` threads of their own (8 MB stacks, as libtorch's recursion needs) and
/// returns the results in rank order, rethrowing the first rank's error: thread "ranks" for checking a parallel
/// layout's mathematics in one process, without a network.
public func runOnThreadRanks<T>(_ count: Int, _ body: @escaping (Int) throws -> T) throws -> [T] {
    let state = ThreadRankResults(body: body)
    let done = DispatchSemaphore(value: 0)
    for rank in 0..<count {
        let thread = Thread {
            let result = Result { try state.body(rank) }
            state.lock.withLock { state.results[rank] = result }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    for _ in 0..<count { done.wait() }
    return try (0..<count).map { rank in try state.lock.withLock { state.results[rank]! }.get() }
}

/// What the rank threads share: the work and, under the lock, their results.
private final class ThreadRankResults<T>: @unchecked Sendable {
    let body: (Int) throws -> T
    let lock = NSLock()
    var results: [Int: Result<T, any Error>] = [:]
    init(body: @escaping (Int) throws -> T) { self.body = body }
}
