import Ablations
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts the ranks of this node as child processes of one command and watches them (`modalities launch`): each
/// gets torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT); when one
/// fails, the others are stopped (SIGTERM, then SIGKILL after `gracePeriod`) and the job fails naming that rank.
///
/// The ranks never outlive the launcher: SIGINT or SIGTERM to it stops them the same way (then it exits with
/// 128 + the signal's number), and each rank asks the kernel to kill it if the launcher dies any other way
/// (``LaunchedRank``). It refuses more ranks per node than `maximumProcessesPerNode` (four per core, eight at least)
/// unless `allowOversubscribe`.
public struct RankLauncher {
    public var executable: String
    public var arguments: [String]
    public var processesPerNode: Int
    public var nodes = 1
    public var nodeRank = 0
    public var masterAddress = "127.0.0.1"
    public var masterPort = 29_500
    public var gracePeriod: TimeInterval = 5
    /// The variables every rank inherits (the launcher's own, as its entry point read them).
    public var environment: [String: String]
    /// The most ranks one node may start: four per core (eight at least, so a small machine can still try an
    /// eight-rank layout), so that a typo (1000 for 10) is refused before it fills the machine.
    public var maximumProcessesPerNode = Swift.max(8, 4 * ProcessInfo.processInfo.activeProcessorCount)
    /// Start more ranks than ``maximumProcessesPerNode`` anyway.
    public var allowOversubscribe = false
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(("launch: " + $0 + "\n").utf8)) }

    public init(executable: String, arguments: [String], processesPerNode: Int, environment: [String: String]) {
        self.executable = executable
        self.environment = environment
        self.arguments = arguments
        self.processesPerNode = processesPerNode
    }

    /// What ended the job.
    public struct Outcome: Equatable, Sendable {
        /// 0 when every rank succeeded.
        public var status: Int32
        /// The first rank that failed.
        public var failedRank: Int?
        public var message: String
    }

    public func run() throws -> Outcome {
        guard processesPerNode >= 1, nodes >= 1, (0..<nodes).contains(nodeRank) else {
            throw LaunchError.invalid("--nproc_per_node and --nnodes must be 1 or more and --node_rank in 0..<nnodes")
        }
        guard processesPerNode <= maximumProcessesPerNode || allowOversubscribe else {
            throw LaunchError.invalid(
                "--nproc_per_node \(processesPerNode) is more than \(maximumProcessesPerNode) (four ranks per core of this machine, eight at least); pass --allow_oversubscribe to start them anyway"
            )
        }
        let worldSize = processesPerNode * nodes
        var children: [(rank: Int, process: Process)] = []
        for localRank in 0..<processesPerNode {
            let rank = nodeRank * processesPerNode + localRank
            var variables = environment
            variables["RANK"] = String(rank)
            variables["LOCAL_RANK"] = String(localRank)
            variables["WORLD_SIZE"] = String(worldSize)
            variables["LOCAL_WORLD_SIZE"] = String(processesPerNode)
            variables["MASTER_ADDR"] = masterAddress
            variables["MASTER_PORT"] = String(masterPort)
            variables[LaunchedRank.launcherVariable] = String(getpid())
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = variables
            do {
                try process.run()
            } catch {
                for child in children { child.process.terminate() }
                throw LaunchError.invalid("cannot start rank \(rank): \(error.localizedDescription)")
            }
            children.append((rank, process))
            log("rank \(rank) is pid \(process.processIdentifier)")
        }
        // Installed once the ranks run: an ignored signal would be inherited by them.
        let stop = TerminationSignals()
        defer { stop.cancel() }
        var failure: Outcome?
        while failure == nil, children.contains(where: { $0.process.isRunning }) {
            if let signal = stop.received {
                failure = Outcome(
                    status: 128 + signal, failedRank: nil,
                    message: "received \(signal == SIGINT ? "SIGINT" : "SIGTERM"); stopping the ranks")
                break
            }
            for child in children where !child.process.isRunning && child.process.terminationStatus != 0 {
                let how = child.process.terminationReason == .uncaughtSignal ? "was killed by signal" : "exited with status"
                failure = Outcome(
                    status: child.process.terminationStatus == 0 ? 1 : child.process.terminationStatus, failedRank: child.rank,
                    message: "rank \(child.rank) \(how) \(child.process.terminationStatus); stopping the other ranks")
                break
            }
            if failure == nil { usleep(50_000) }
        }
        if failure == nil, let child = children.first(where: { $0.process.terminationStatus != 0 }) {
            failure = Outcome(
                status: child.process.terminationStatus, failedRank: child.rank,
                message: "rank \(child.rank) exited with status \(child.process.terminationStatus)")
        }
        guard var failure else { return Outcome(status: 0, failedRank: nil, message: "all \(worldSize) ranks finished") }
        // A rank that is stopped (SIGSTOP, a debugger) makes the others' collectives time out: the first rank to fail
        // is then not the culprit, so say which one stopped answering.
        let stopped = children.filter { $0.process.isRunning && Self.isStopped($0.process.processIdentifier) }.map(\.rank)
        if !stopped.isEmpty {
            failure.message +=
                "; rank\(stopped.count == 1 ? "" : "s") \(stopped.map(String.init).joined(separator: ", ")) \(stopped.count == 1 ? "is" : "are") stopped (SIGSTOP or a debugger) and did not answer"
        }
        log(failure.message)
        for child in children where child.process.isRunning { child.process.terminate() }
        let deadline = Date().addingTimeInterval(gracePeriod)
        while Date() < deadline, children.contains(where: { $0.process.isRunning }) { usleep(50_000) }
        for child in children where child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
        for child in children { child.process.waitUntilExit() }
        return failure
    }

    /// Whether the process is stopped (state T or t in /proc/<pid>/stat).
    static func isStopped(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state == "T" || state == "t"
    }
}
