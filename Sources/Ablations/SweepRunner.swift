import Config
import Dispatch
import Foundation
import Observability

#if canImport(Glibc)
import Glibc
#endif

/// Runs the configs a sweep folder holds (`modalities sweep run`), one after another or `parallel` at a time, and
/// can be stopped and started again at any moment:
///
/// - a finished run (its `sweep_status.json` says `done`) is never run again;
/// - an interrupted or failed run continues from its newest complete checkpoint (`run --resume_from_checkpoint`),
///   its `evaluation_results.jsonl` cut back to that step first (the full file is kept beside it);
/// - a run whose error log names one of `skipExceptionTypes` is left alone;
/// - a run still going from a runner that was killed is stopped before it is resumed.
///
/// A config at `<sweep dir>/<rel>/<name>/<file>.yaml` runs as experiment `<name>` under
/// `<experiments root>/<rel>`, so its folder is `<experiments root>/<rel>/<name>/`, which also holds the status
/// file, the command's output (`sweep_run.log`) and its error logs. Configs of world size N (`<rel>` ends in `/N`)
/// run on N ranks through `modalities launch`.
public final class SweepRunner: @unchecked Sendable {
    /// One config of the sweep and where it runs.
    public struct Run: Sendable {
        public var config: String
        public var worldSize: Int
        public var experimentsRoot: String
        public var experimentID: String
        public var folder: String { experimentsRoot + "/" + experimentID }
    }

    /// What the status file records.
    public enum State: String, Sendable { case running, done, failed, interrupted }

    public var sweepDirectory: String
    public var experimentsRoot: String
    /// The `modalities` executable the runs use.
    public var executable: String
    public var parallel: Int
    public var skipExceptionTypes: [String]
    /// Ends every run after this many optimizer steps (`run --stop_after_steps`), to try a sweep out. Such runs are
    /// recorded as done with `stopped_after_steps`; a later sweep without the limit runs them again to their targets.
    public var stopAfterSteps: Int?
    public var log: @Sendable (String) -> Void

    public init(
        sweepDirectory: String, experimentsRoot: String, executable: String, parallel: Int = 1, skipExceptionTypes: [String] = [],
        log: @escaping @Sendable (String) -> Void = { print($0) }
    ) {
        self.sweepDirectory = sweepDirectory
        self.experimentsRoot = experimentsRoot
        self.executable = executable
        self.parallel = parallel
        self.skipExceptionTypes = skipExceptionTypes
        self.log = log
    }

    static let statusFile = "sweep_status.json"

    /// Every run of the sweep folder, in path order.
    public func runs() throws -> [Run] {
        let root = URL(fileURLWithPath: sweepDirectory).standardizedFileURL.path
        return try SweepStatus(root: root, expectedSteps: 0).mostRecentConfigs().map { config in
            let folder = URL(fileURLWithPath: config).deletingLastPathComponent()
            let relative = String(folder.deletingLastPathComponent().path.dropFirst(root.count))
            return Run(
                config: config, worldSize: Int(folder.deletingLastPathComponent().lastPathComponent) ?? 1,
                experimentsRoot: experimentsRoot + relative, experimentID: folder.lastPathComponent)
        }
    }

    /// The state recorded for `run`, if it ever started.
    public func status(of run: Run) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: run.folder + "/" + Self.statusFile) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// Counts of the runs by what happened to them in this call.
    public struct Summary: Equatable, Sendable {
        public var alreadyDone = 0
        public var completed = 0
        public var failed = 0
        public var skipped = 0
        public var interrupted = false
    }

    private let lock = NSLock()
    private var active: [pid_t: Run] = [:]
    private var stopping = false

    /// Runs what remains; returns when every run has ended (or the runner was told to stop by SIGINT/SIGTERM, which
    /// it passes on to the runs).
    public func run() throws -> Summary {
        guard parallel >= 1 else { throw SweepError.invalid(sweepDirectory, "--parallel must be 1 or more") }
        let all = try runs()
        guard !all.isEmpty else {
            throw SweepError.invalid(sweepDirectory, "holds no sweep configs (<name>/<world size>/<point>/<file>.yaml)")
        }
        var summary = Summary()
        var queue: [(run: Run, checkpoint: String?)] = []
        for run in all {
            let status = status(of: run)
            let stoppedEarly = status?["stopped_after_steps"] != nil
            if status?["state"] as? String == State.done.rawValue && (!stoppedEarly || stopAfterSteps != nil) {
                summary.alreadyDone += 1
                continue
            }
            if let pid = status?["pid"] as? Int, status?["state"] as? String == State.running.rawValue,
                ChildProcess.isRunning(pid_t(pid), mentioning: run.config)
            {
                log("\(run.experimentID): stopping the run a previous runner left going (pid \(pid))")
                ChildProcess.signalGroup(pid_t(pid), SIGKILL)
                while ChildProcess.isRunning(pid_t(pid), mentioning: run.config) { usleep(50_000) }
            }
            let types = ErrorLogs.types(in: run.folder)
            if let type = types.first(where: { skipExceptionTypes.contains($0) }) {
                log("\(run.experimentID): skipped (its error log names \(type))")
                summary.skipped += 1
                continue
            }
            let checkpoint = try latestCheckpoint(of: run)
            if let checkpoint, try Self.seenSteps(checkpoint) >= Self.targetSteps(checkpoint) {
                // It reached its target (its last checkpoint is the final one) after its runner was stopped.
                try record(run, .done, extra: ["exit_status": 0, "finished_by": "its final checkpoint: " + checkpoint])
                log("\(run.experimentID): done (its final checkpoint exists)")
                summary.completed += 1
                continue
            }
            queue.append((run, checkpoint))
        }
        // SIGINT and SIGTERM stop the runs (their whole process groups) and then the runner.
        let signals = TerminationSignals { [weak self] _ in self?.stopRuns() }
        defer { signals.cancel() }
        var pending = queue[...]
        while true {
            lock.lock()
            let canStart = !stopping && active.count < parallel && !pending.isEmpty
            lock.unlock()
            if canStart {
                let (run, checkpoint) = pending.removeFirst()
                try start(run, resumingFrom: checkpoint)
                continue
            }
            lock.lock()
            let waiting = !active.isEmpty
            lock.unlock()
            guard waiting, let (pid, exitStatus) = ChildProcess.waitAny() else { break }
            lock.lock()
            let finished = active.removeValue(forKey: pid)
            let stopped = stopping
            lock.unlock()
            guard let run = finished else { continue }
            if exitStatus == 0 {
                var extra: [String: Any] = ["exit_status": 0]
                if let stopAfterSteps { extra["stopped_after_steps"] = stopAfterSteps }
                try record(run, .done, extra: extra)
                log("\(run.experimentID): done")
                summary.completed += 1
            } else if stopped {
                try record(run, .interrupted, extra: ["exit_status": Int(exitStatus)])
                log("\(run.experimentID): interrupted")
            } else {
                let logs = ErrorLogs.paths(in: run.folder)
                try record(run, .failed, extra: ["exit_status": Int(exitStatus), "error_logs": logs])
                log(
                    "\(run.experimentID): failed with status \(exitStatus)\(logs.isEmpty ? "" : "; error log " + logs.joined(separator: ", ")) (see \(run.folder)/sweep_run.log)"
                )
                summary.failed += 1
            }
        }
        lock.lock()
        summary.interrupted = stopping
        lock.unlock()
        return summary
    }

    private func start(_ run: Run, resumingFrom checkpoint: String?) throws {
        try FileManager.default.createDirectory(atPath: run.folder, withIntermediateDirectories: true)
        if let checkpoint { try trimResults(of: run, toStep: try Self.seenSteps(checkpoint)) }
        var arguments = [
            "run", "--config_file_path", run.config, "--experiments_root_path", run.experimentsRoot,
            "--experiment_id", run.experimentID, "--error_log_folder", run.folder,
        ]
        if let checkpoint { arguments += ["--resume_from_checkpoint", checkpoint] }
        if let stopAfterSteps { arguments += ["--stop_after_steps", String(stopAfterSteps)] }
        if run.worldSize > 1 {
            arguments =
                ["launch", "--nproc_per_node", String(run.worldSize), "--master_port", String(ChildProcess.freePort()), "--"] + arguments
        }
        // Error logs of an earlier attempt would make this one look failed.
        for path in ErrorLogs.paths(in: run.folder) { try? FileManager.default.removeItem(atPath: path) }
        let previous = status(of: run)
        let child = try ChildProcess.start(executable, arguments, logPath: run.folder + "/sweep_run.log")
        lock.lock()
        active[child.pid] = run
        lock.unlock()
        try record(
            run, .running,
            extra: [
                "pid": Int(child.pid), "attempts": ((previous?["attempts"] as? Int) ?? 0) + 1,
                "resumed_from": checkpoint ?? NSNull(),
            ])
        log(
            "\(run.experimentID): \(checkpoint.map { "resuming from \(URL(fileURLWithPath: $0).lastPathComponent)" } ?? "starting") on \(run.worldSize) rank(s)"
        )
    }

    /// Writes the status file (atomically), keeping the attempt count.
    private func record(_ run: Run, _ state: State, extra: [String: Any]) throws {
        var status = self.status(of: run) ?? [:]
        status["state"] = state.rawValue
        status["config"] = run.config
        status["updated"] = ISO8601DateFormatter().string(from: Date())
        if state != .running { status["pid"] = nil }
        if state == .running { status["stopped_after_steps"] = nil }  // a new attempt; its end says again
        for (key, value) in extra { status[key] = value }
        let data = try JSONSerialization.data(withJSONObject: status, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: run.folder + "/" + Self.statusFile), options: .atomic)
    }

    /// The newest complete checkpoint (`eid_<id>-seen_steps_<n>-...` with its metadata) of `run`, found where its
    /// resolved config saves checkpoints.
    func latestCheckpoint(of run: Run) throws -> String? {
        let resolved = run.folder + "/" + URL(fileURLWithPath: run.config).lastPathComponent + ".resolved"
        guard FileManager.default.fileExists(atPath: resolved), let saving = try ConfigLoader.load(file: resolved)["checkpoint_saving"],
            let checkpointPath = Self.firstScalar(named: "checkpoint_path", in: saving),
            let names = try? FileManager.default.contentsOfDirectory(atPath: checkpointPath)
        else { return nil }
        let prefix = "eid_\(run.experimentID)-seen_steps_"
        let complete = names.filter {
            $0.hasPrefix(prefix) && FileManager.default.fileExists(atPath: checkpointPath + "/" + $0 + "/metadata.json")
        }
        return complete.compactMap { name in (try? Self.seenSteps(name)).map { (name, $0) } }.max { $0.1 < $1.1 }
            .map { checkpointPath + "/" + $0.0 }
    }

    static func firstScalar(named key: String, in node: ConfigNode) -> String? {
        for entry in node.entries ?? [] {
            if entry.key == key, let text = entry.node.scalarText { return text }
            if let found = firstScalar(named: key, in: entry.node) { return found }
        }
        return nil
    }

    /// The seen steps in a checkpoint folder name.
    static func seenSteps(_ path: String) throws -> Int { try number(.seenSteps, in: path) }

    /// The target steps in a checkpoint folder name.
    static func targetSteps(_ path: String) throws -> Int { try number(.targetSteps, in: path) }

    private static func number(_ field: CheckpointFolderName.Field, in path: String) throws -> Int {
        do {
            return try CheckpointFolderName.number(field, inPath: URL(fileURLWithPath: path).lastPathComponent)
        } catch is CheckpointFolderName.ReadError {
            throw SweepError.invalid(path, "not a checkpoint folder name (eid_<id>-seen_steps_<n>-...-target_steps_<n>-...)")
        }
    }

    /// Keeps the records up to `step` in the run's results; the whole file is kept as
    /// `evaluation_results.interrupted-<n>.jsonl`.
    private func trimResults(of run: Run, toStep step: Int) throws {
        let path = run.folder + "/evaluation_results.jsonl"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        var index = 1
        while FileManager.default.fileExists(atPath: run.folder + "/evaluation_results.interrupted-\(index).jsonl") { index += 1 }
        try FileManager.default.copyItem(atPath: path, toPath: run.folder + "/evaluation_results.interrupted-\(index).jsonl")
        let kept = text.split(separator: "\n").filter { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let done = object["num_train_steps_done"] as? Int
            else { return false }
            return done <= step
        }
        try (kept.map { $0 + "\n" }.joined()).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Stops the runs going now (their whole process groups) and starts no more.
    private func stopRuns() {
        lock.lock()
        stopping = true
        let pids = Array(active.keys)
        lock.unlock()
        log("stopping \(pids.count) run(s); start the runner again to continue them")
        for pid in pids { ChildProcess.signalGroup(pid, SIGTERM) }
    }
}
