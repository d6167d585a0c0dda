import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts the ranks of this node as child processes of one command and watches them (`modalities launch`): each
/// gets torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT); when one
/// fails, the others are stopped (SIGTERM, then SIGKILL after `gracePeriod`) and the job fails naming that rank.
public struct RankLauncher {
    public var executable: String
    public var arguments: [String]
    public var processesPerNode: Int
    public var nodes = 1
    public var nodeRank = 0
    public var masterAddress = "127.0.0.1"
    public var masterPort = 29_500
    public var gracePeriod: TimeInterval = 5
    public var environment = ProcessInfo.processInfo.environment
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(("launch: " + $0 + "\n").utf8)) }

    public init(executable: String, arguments: [String], processesPerNode: Int) {
        self.executable = executable
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
        }
        var failure: Outcome?
        while failure == nil, children.contains(where: { $0.process.isRunning }) {
            for child in children where !child.process.isRunning && child.process.terminationStatus != 0 {
                let how = child.process.terminationReason == .uncaughtSignal ? "was killed by signal" : "exited with status"
                failure = Outcome(status: child.process.terminationStatus == 0 ? 1 : child.process.terminationStatus, failedRank: child.rank,
                                  message: "rank \(child.rank) \(how) \(child.process.terminationStatus); stopping the other ranks")
                break
            }
            if failure == nil { usleep(50_000) }
        }
        if failure == nil, let child = children.first(where: { $0.process.terminationStatus != 0 }) {
            failure = Outcome(status: child.process.terminationStatus, failedRank: child.rank,
                              message: "rank \(child.rank) exited with status \(child.process.terminationStatus)")
        }
        guard let failure else { return Outcome(status: 0, failedRank: nil, message: "all \(worldSize) ranks finished") }
        log(failure.message)
        for child in children where child.process.isRunning { child.process.terminate() }
        let deadline = Date().addingTimeInterval(gracePeriod)
        while Date() < deadline, children.contains(where: { $0.process.isRunning }) { usleep(50_000) }
        for child in children where child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
        for child in children { child.process.waitUntilExit() }
        return failure
    }
}
