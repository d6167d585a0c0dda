import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Prints each result as a block of lines on rank 0 (`results_subscriber/rich`).
public final class ConsoleResultSubscriber: ResultSubscriber {
    private let globalRank: Int
    private let write: (String) -> Void

    public init(globalRank: Int, write: @escaping (String) -> Void = { print($0) }) {
        self.globalRank = globalRank
        self.write = write
    }

    public func consume(_ result: EvaluationResult) throws {
        guard globalRank == 0 else { return }
        var lines = ["── \(result.dataloaderTag) · step \(result.numTrainStepsDone)"]
        for (name, value) in result.losses { lines.append("   \(result.dataloaderTag) \(name): \(value)") }
        for (name, value) in result.metrics { lines.append("   \(result.dataloaderTag) \(name): \(value)") }
        write(lines.joined(separator: "\n"))
    }
}

/// Shows how far training and evaluation are (`progress_subscriber/rich`): a bar redrawn in place on a terminal,
/// a plain line every tenth of the way otherwise (logs, CI).
public final class ConsoleProgressSubscriber: ProgressSubscriber {
    private let globalRank: Int
    private let targetSteps: Int
    private let evaluationSteps: [String: Int]
    private let isTerminal: Bool
    private let write: (String) -> Void
    private var lastReported: [String: Int] = [:]

    /// - Parameters:
    ///   - evaluationSteps: batches per epoch of each evaluation loader, by tag.
    ///   - isTerminal: nil asks whether standard output is a terminal.
    public init(
        globalRank: Int, numSeenSteps: Int, numTargetSteps: Int, evaluationSteps: [String: Int] = [:],
        isTerminal: Bool? = nil, write: ((String) -> Void)? = nil
    ) {
        self.globalRank = globalRank
        targetSteps = numTargetSteps
        self.evaluationSteps = evaluationSteps
        self.isTerminal = isTerminal ?? (isatty(STDOUT_FILENO) == 1)
        self.write =
            write ?? { text in
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        lastReported["train"] = numSeenSteps
    }

    public func consume(_ update: ProgressUpdate) {
        guard globalRank == 0 else { return }
        let total = update.status == .train ? targetSteps : (evaluationSteps[update.dataloaderTag] ?? 0)
        let key = "\(update.status.rawValue):\(update.dataloaderTag)"
        if isTerminal {
            let fraction = total > 0 ? min(1, Double(update.stepsDone) / Double(total)) : 0
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let label = update.status == .train ? "train" : "eval \(update.dataloaderTag)"
            write("\r\(label) \(bar) \(update.stepsDone)/\(total)\(update.stepsDone >= total ? "\n" : "")")
        } else {
            let tenth = Swift.max(1, total / 10)
            let previous = lastReported[key] ?? 0
            guard update.stepsDone >= total || update.stepsDone / tenth > previous / tenth else { return }
            lastReported[key] = update.stepsDone
            let label = update.status == .train ? "train" : "evaluation \(update.dataloaderTag)"
            write("\(label): \(update.stepsDone)/\(total) steps\n")
        }
    }
}
