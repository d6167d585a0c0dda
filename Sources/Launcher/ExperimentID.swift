import Foundation
import DataFormats

/// Experiment ids as Modalities makes them: the local start time, then the first 16 hex digits of the SHA-256 of
/// the config path as given (`2026-11-27__14-31-22_fdh1xaj2...`).
public enum ExperimentID {
    public static func make(configFilePath: String?, date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd__HH-mm-ss"
        let time = formatter.string(from: date)
        guard let configFilePath else { return time }
        return time + "_" + String(SHA256.hex(Array(configFilePath.utf8)).prefix(16))
    }
}
