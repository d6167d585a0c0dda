import Foundation
import Logging

/// swift-log output for training processes: every line starts with the process's global rank
/// (`[rank 0] ...`), information goes to standard output and warnings and errors to standard error, as
/// `print_rank_0` and warnings do in Modalities.
public struct RankLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let rank: Int
    public let label: String

    public init(label: String, rank: Int, level: Logger.Level) {
        self.label = label
        self.rank = rank
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let prefix = level >= .warning ? "[rank \(rank)] \(level): " : "[rank \(rank)] "
        let text = prefix + "\(message)".replacingOccurrences(of: "\n", with: "\n[rank \(rank)] ") + "\n"
        (level >= .warning || level < .info ? FileHandle.standardError : FileHandle.standardOutput).write(Data(text.utf8))
    }

    /// Routes every logger of the process here, at `level`, with the rank from `RANK` (0 when unset).
    public static func bootstrap(level: Logger.Level, environment: [String: String]) {
        let rank = environment["RANK"].flatMap(Int.init) ?? 0
        LoggingSystem.bootstrap { label in RankLogHandler(label: label, rank: rank, level: level) }
    }
}
