import Foundation
import Testing

@testable import Ablations

#if canImport(Glibc)
import Glibc
#endif

/// Several processes on this machine talking through c10d's Gloo backend, started by `modalities launch`.
@Suite(.serialized) struct DistributedLaunchTests {
    /// A TCP port no one listens on now, as the kernel picks one for a socket bound to port 0 (the sweep runner's
    /// choice). A random port could fall among the ephemeral ports other tests' connections hold.
    static func port() -> String { String(ChildProcess.freePort()) }

    /// Runs the binary with `arguments`; with a `hangTimeout`, a run still going after that many seconds is killed
    /// and recorded as a test failure (a bound that catches a hang, never a measure of speed).
    func launch(
        _ arguments: [String], environment: [String: String] = [:], hangTimeout: Double? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TrainingJobTests().binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let killedAsHung = LockedFlag()
        let watchdog = DispatchWorkItem {
            killedAsHung.set()
            kill(process.processIdentifier, SIGKILL)
        }
        if let hangTimeout { DispatchQueue.global().asyncAfter(deadline: .now() + hangTimeout, execute: watchdog) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        if killedAsHung.isSet {
            Issue.record("\(arguments.prefix(4).joined(separator: " ")) still running after \(Int(hangTimeout ?? 0)) s: killed as hung")
        }
        return (process.terminationStatus, output)
    }

    @Test(arguments: [2, 4])
    func everyCollectiveGivesTheRightResult(ranks: Int) throws {
        let (status, output) = try launch([
            "launch", "--nproc_per_node", String(ranks), "--master_port", Self.port(), "--", "collectives_check",
        ])
        #expect(status == 0, "\(output)")
        #expect(output.components(separatedBy: "collectives ok").count - 1 == ranks)
    }

    /// The job ends instead of waiting on the dead rank: a hang (the surviving rank blocked in a collective) is caught
    /// by a generous timeout, well past Gloo's 60 s, which a loaded machine does not come near.
    @Test func aRankThatDiesTakesTheJobDownNamingIt() throws {
        let (status, output) = try launch(
            [
                "launch", "--nproc_per_node", "2", "--master_port", Self.port(), "--grace_period", "2", "--",
                "collectives_check", "--exit_rank", "1",
            ], hangTimeout: 300)
        #expect(status == 3)
        #expect(output.contains("rank 1 exited with status 3"))
    }
}

/// The ranks never outlive their launcher: stopped with it on SIGTERM/SIGINT, killed by the kernel when it dies of
/// SIGKILL; and a rank count beyond what the machine can hold is refused before anything starts.
@Suite(.serialized) struct LauncherOwnsItsRanksTests {
    /// Starts `launch` for two ranks that check their collectives and then wait; returns once both wait.
    func startHoldingJob(output path: String, extra: [String] = ["--hold_seconds", "600"]) throws -> (launcher: Process, ranks: [pid_t]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TrainingJobTests().binary)
        process.arguments =
            [
                "launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--grace_period", "2", "--",
                "collectives_check",
            ] + extra
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Bounded wait for the ranks (a hang guard, not a speed measure).
        let deadline = Date().addingTimeInterval(300)
        var output = ""
        while Date() < deadline, process.isRunning {
            output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if output.components(separatedBy: "collectives ok").count - 1 == 2 { break }
            usleep(50_000)
        }
        let pids = output.split(separator: "\n").compactMap { line -> pid_t? in
            guard let range = line.range(of: " is pid ") else { return nil }
            return pid_t(line[range.upperBound...].trimmingCharacters(in: .whitespaces))
        }
        #expect(pids.count == 2, "\(output)")
        return (process, pids)
    }

    /// Whether `pid` is gone (or a zombie no one reaps yet: it no longer runs).
    func isGone(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 { return true }
        let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
        return state == "Z" || state == nil
    }

    func waitUntilGone(_ pids: [pid_t]) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !pids.allSatisfy(isGone) { usleep(50_000) }
        return pids.allSatisfy(isGone)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalToTheLauncherStopsItsRanks(signal: Int32) throws {
        let log = NSTemporaryDirectory() + "launch-signal-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let (launcher, ranks) = try startHoldingJob(output: log)
        kill(launcher.processIdentifier, signal)
        launcher.waitUntilExit()
        #expect(launcher.terminationStatus == 128 + signal)
        #expect(waitUntilGone(ranks), "ranks \(ranks) still run after the launcher stopped")
        #expect((try? String(contentsOfFile: log, encoding: .utf8))?.contains("stopping the ranks") == true)
    }

    @Test func ranksDieWithAKilledLauncher() throws {
        let log = NSTemporaryDirectory() + "launch-kill-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let (launcher, ranks) = try startHoldingJob(output: log)
        kill(launcher.processIdentifier, SIGKILL)
        launcher.waitUntilExit()
        #expect(waitUntilGone(ranks), "ranks \(ranks) outlived their killed launcher")
        for rank in ranks where !isGone(rank) { kill(rank, SIGKILL) }
    }

    /// A stopped rank makes the other's last barrier time out: the job ends naming the stopped rank, not only the
    /// one whose collective timed out.
    @Test func aStoppedRankIsNamedWhenTheOthersTimeOut() throws {
        let log = NSTemporaryDirectory() + "launch-stop-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let (launcher, ranks) = try startHoldingJob(output: log, extra: ["--hold_seconds", "2", "--timeout_seconds", "5"])
        kill(ranks[1], SIGSTOP)
        launcher.waitUntilExit()
        #expect(launcher.terminationStatus != 0)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(output.contains("rank 1 is stopped (SIGSTOP or a debugger) and did not answer"), "\(output.suffix(2000))")
        #expect(waitUntilGone(ranks))
    }

    @Test func moreRanksThanTheMachineHoldsAreRefused() throws {
        let (status, output) = try DistributedLaunchTests().launch(["launch", "--nproc_per_node", "1000", "--", "collectives_check"])
        #expect(status != 0)
        #expect(output.contains("--nproc_per_node 1000 is more than") && output.contains("--allow_oversubscribe"), "\(output)")
    }
}

/// Replicated data parallelism (`model/ddp_wrapped`) over 2 and 4 processes equals one process with the same global
/// batch.
@Suite(.serialized) struct DataParallelTrainingTests {
    @Test func twoAndFourRanksFollowTheOneRankTrajectory() throws {
        let single = try DistributedRun.oneRankTrajectory()
        #expect(single.count == 16)
        for (ranks, microBatch) in [(2, 2), (4, 1)] {
            let parallel = try DistributedRun(ranks: ranks, microBatch: microBatch, accumulation: 1, engine: .replicated).losses()
            DistributedRun.expectSameTrajectory(parallel, single, "\(ranks) ranks", normTolerance: 1e-5)
        }
    }
}

/// A flag one thread sets and another reads.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
