/// What the training loop is doing, for progress displays.
public struct ProgressUpdate: Sendable, Equatable {
    public enum Status: String, Sendable { case train, evaluation }

    public var stepsDone: Int
    public var status: Status
    public var dataloaderTag: String

    public init(stepsDone: Int, status: Status, dataloaderTag: String) {
        self.stepsDone = stepsDone
        self.status = status
        self.dataloaderTag = dataloaderTag
    }
}

/// Receives progress updates (Modalities' `progress_subscriber/*`).
public protocol ProgressSubscriber: AnyObject {
    func consume(_ update: ProgressUpdate)
}

/// Receives training and evaluation results (Modalities' `results_subscriber/*`).
public protocol ResultSubscriber: AnyObject {
    func consume(_ result: EvaluationResult) throws
    /// Facts about the run logged once (e.g. `No. parameters`).
    func consume(facts: [(String, ResultValue)]) throws
    /// Called once when the run ends; files are flushed.
    func finish() throws
}

extension ResultSubscriber {
    public func consume(facts: [(String, ResultValue)]) throws {}
    public func finish() throws {}
}

/// Ignores progress (`progress_subscriber/dummy`).
public final class DummyProgressSubscriber: ProgressSubscriber {
    public init() {}
    public func consume(_ update: ProgressUpdate) {}
}

/// Ignores results (`results_subscriber/dummy`).
public final class DummyResultSubscriber: ResultSubscriber {
    public init() {}
    public func consume(_ result: EvaluationResult) throws {}
}

/// Forwards results to another subscriber and writes a one-line summary of each, as Modalities prints every
/// logged training result on rank 0.
public final class EchoingResultSubscriber: ResultSubscriber {
    public let wrapped: any ResultSubscriber
    private let write: (String) -> Void

    public init(wrapping subscriber: any ResultSubscriber, write: @escaping (String) -> Void) {
        wrapped = subscriber
        self.write = write
    }

    public func consume(_ result: EvaluationResult) throws {
        write(result.summary)
        try wrapped.consume(result)
    }

    public func consume(facts: [(String, ResultValue)]) throws { try wrapped.consume(facts: facts) }
    public func finish() throws { try wrapped.finish() }
}
