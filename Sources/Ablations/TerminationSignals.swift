import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM caught instead of ending the process, for a parent that must stop its children first (the
/// sweep runner, `modalities launch`). Create it once the children run: an ignored signal is inherited by the
/// children started after it. ``cancel()`` restores the default actions.
public final class TerminationSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// Catches both signals; `onSignal` runs (on a dispatch queue) for each one received.
    public init(onSignal: @escaping @Sendable (Int32) -> Void = { _ in }) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                if self.first == nil { self.first = number }
                self.lock.unlock()
                onSignal(number)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    public var received: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return first
    }

    /// Stops catching: the default actions apply again.
    public func cancel() {
        for source in sources { source.cancel() }
        for number in [SIGINT, SIGTERM] { signal(number, SIG_DFL) }
    }
}
