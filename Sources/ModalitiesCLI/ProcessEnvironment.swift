import Foundation

/// The process environment, read once here at the command line's entry and handed explicitly to everything below
/// it (resolvers, the launcher, the training job, the log handler); no library module reads it by itself.
enum ProcessEnvironment {
    static let variables = ProcessInfo.processInfo.environment
}
