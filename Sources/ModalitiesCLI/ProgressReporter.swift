import Foundation

/// Progress of a long operation on standard error: one line redrawn in place on a terminal, plain lines every
/// few seconds otherwise (logs, CI).
final class ProgressReporter {
    private let label: String
    private let totalBytes: Int
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let isTerminal = isatty(2) != 0

    init(label: String, totalBytes: Int) {
        self.label = label
        self.totalBytes = totalBytes
    }

    func update(bytes: Int, documents: Int, tokens: Int, force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastPrint) >= (isTerminal ? 0.2 : 5) else { return }
        lastPrint = now
        let elapsed = max(now.timeIntervalSince(start), 1e-3)
        let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : 1
        let remaining = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let line = String(
            format: "%@ %5.1f%% %.1f/%.1f MB, %d documents, %.0f tokens/s, ETA %.0f s",
            label, fraction * 100, Double(bytes) / 1e6, Double(totalBytes) / 1e6, documents,
            Double(tokens) / elapsed, remaining)
        FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
