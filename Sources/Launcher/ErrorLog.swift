import Foundation

/// The JSON error log each rank writes on failure with `--error_log_folder`
/// (`error_logs_<host>_<local rank>.log`, Modalities' shape: environment + error).
public enum ErrorLog {
    @discardableResult
    public static func write(_ error: Error, to folder: String, environment: [String: String]) throws -> String {
        let host = ProcessInfo.processInfo.hostName
        func integer(_ name: String) -> Int { environment[name].flatMap(Int.init) ?? -1 }
        let localRank = integer("LOCAL_RANK")
        let record: [String: Any] = [
            "environment": ["rank": integer("RANK"), "local_rank": localRank, "world_size": integer("WORLD_SIZE"), "hostname": host],
            "error": ["error": "\(error)", "type": String(describing: type(of: error)), "stacktrace": Thread.callStackSymbols],
        ]
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/error_logs_\(host)_\(localRank).log"
        let data = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}
