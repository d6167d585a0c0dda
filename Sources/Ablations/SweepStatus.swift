import Foundation

/// Which configs of a sweep still have to run (`modalities benchmark list_remaining_runs`), with Modalities'
/// rules: configs are `<exp_root>/**/<world size>/<folder>/<name>.yaml`, each run's results are
/// `evaluation_results.jsonl` next to its config, and a run is done when that file has `expectedSteps` lines or
/// when one of its error logs (`error_logs_*.log`) names an exception type to skip (e.g. OutOfMemoryError).
///
/// A config re-run in a new folder `<folder>_<YYYY-MM-DD__HH-MM-SS>` replaces the older ones of the same folder
/// name; only the most recent counts.
public struct SweepStatus {
    public var root: String
    public var worldSize: Int?
    public var expectedSteps: Int
    public var skipExceptionTypes: [String]

    public init(root: String, worldSize: Int? = nil, expectedSteps: Int, skipExceptionTypes: [String] = []) {
        self.root = root
        self.worldSize = worldSize
        self.expectedSteps = expectedSteps
        self.skipExceptionTypes = skipExceptionTypes
    }

    static let timestampSuffix = try! NSRegularExpression(pattern: "_\\d{4}-\\d{2}-\\d{2}__\\d{2}-\\d{2}-\\d{2}$")

    /// A run folder's name without its re-run suffix `_<YYYY-MM-DD__HH-MM-SS>`, and that time ("" when absent).
    static func splitStamp(_ name: String) -> (base: String, stamp: String) {
        guard let match = timestampSuffix.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)),
            let found = Range(match.range, in: name)
        else { return (name, "") }
        return (String(name[..<found.lowerBound]), String(name[found].dropFirst()))
    }

    /// Every config file under the root (for the world size, when given), sorted.
    public func allConfigs() throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
            throw SweepError.invalid(root, "no such folder")
        }
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        var configs: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: rootURL.path)
        while let relative = enumerator?.nextObject() as? String {
            let parts = relative.split(separator: "/").map(String.init)
            guard parts.count >= 3, relative.hasSuffix(".yaml"), !relative.hasSuffix(".resolved.yaml") else { continue }
            let worldFolder = parts[parts.count - 3]
            guard Int(worldFolder) != nil, worldSize.map({ String($0) == worldFolder }) ?? true else { continue }
            configs.append(rootURL.path + "/" + relative)
        }
        return configs.sorted()
    }

    /// The newest config of each run folder name.
    public func mostRecentConfigs() throws -> [String] {
        var newest: [String: (path: String, stamp: String)] = [:]
        for path in try allConfigs() {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            let (key, stamp) = Self.splitStamp(folder.lastPathComponent)
            let group = folder.deletingLastPathComponent().path + "/" + key
            if newest[group].map({ stamp > $0.stamp }) ?? true { newest[group] = (path, stamp) }
        }
        return newest.values.map(\.path).sorted()
    }

    /// Whether the run of `config` is done (or failed in a way not worth repeating).
    public func isDone(_ config: String) -> Bool {
        let folder = (config as NSString).deletingLastPathComponent
        if let text = try? String(contentsOfFile: folder + "/evaluation_results.jsonl", encoding: .utf8),
            text.split(separator: "\n").count == expectedSteps
        {
            return true
        }
        guard !skipExceptionTypes.isEmpty else { return false }
        return ErrorLogs.types(in: folder).contains { skipExceptionTypes.contains($0) }
    }

    /// The most recent configs whose runs are not done.
    public func remainingConfigs() throws -> [String] {
        try mostRecentConfigs().filter { !isDone($0) }
    }

    /// The configs to run next: the remaining ones, each copied into a new `<folder>_<time>` folder when some runs
    /// have already happened and `createNewFolders` is set (so a failed run's files stay as they were).
    public func updatedConfigs(createNewFolders: Bool, now: Date = Date()) throws -> [String] {
        let all = try allConfigs()
        let remaining = try remainingConfigs()
        guard createNewFolders, Set(remaining) != Set(all) else { return remaining }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd__HH-mm-ss"
        let stamp = formatter.string(from: now)
        return try remaining.map { config in
            let folder = URL(fileURLWithPath: config).deletingLastPathComponent()
            let base = Self.splitStamp(folder.lastPathComponent).base
            let target = folder.deletingLastPathComponent().appendingPathComponent(base + "_" + stamp)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let copy = target.appendingPathComponent(URL(fileURLWithPath: config).lastPathComponent)
            if !FileManager.default.fileExists(atPath: copy.path) { try FileManager.default.copyItem(atPath: config, toPath: copy.path) }
            return copy.path
        }
    }
}

/// The exception types named by the JSON error logs (`error_logs_*.log`) under a folder.
enum ErrorLogs {
    static func paths(in folder: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix("error_logs_"), name.hasSuffix(".log") { paths.append(folder + "/" + relative) }
        }
        return paths.sorted()
    }

    static func types(in folder: String) -> [String] {
        paths(in: folder).map { path in
            guard let data = FileManager.default.contents(atPath: path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let error = object["error"] as? [String: Any], let type = error["type"] as? String
            else { return "ErrorFileParsingError" }
            return type
        }
    }
}
