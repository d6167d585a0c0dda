import Foundation
import TestSupport
import Testing

/// Several nodes for real: two network namespaces on this machine, joined by a veth pair, each with its own address
/// and its own `/etc/hosts` (the machine's hostname resolving to that address, as on a cluster node), are the two
/// nodes of a `launch --nnodes 2` job. Needs root and iproute2; skipped with that reason elsewhere.
@Suite(.serialized, .enabled(if: TwoNodeNetwork.isAvailable, "needs root and `ip netns` (iproute2) to make two network namespaces"))
struct TwoNodeTests {
    let jobs = TrainingJobTests()

    func trainLosses(_ path: String) throws -> [Int: [String: Double]] {
        try jobs.trainRecords(path).mapValues { $0["losses"] as? [String: Double] ?? [:] }
    }

    /// The same job on one node (2 ranks) and on two nodes (1 rank each, node 1 started two seconds after node 0,
    /// within the rendezvous timeout): the same losses, bit for bit.
    @Test func twoNodesTrainTheOneNodeTrajectoryAndALateNodeJoins() throws {
        let binary = try jobs.binary
        let root = try jobs.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Eight of the config's 16 steps: the same schedule, half the time.
        let run = ["run", "--config_file_path", TrainingJobTests.runConfig, "--experiments_root_path", root, "--stop_after_steps", "8"]
        try jobs.run(binary, ["launch", "--nproc_per_node", "2", "--"] + run + ["--experiment_id", "one-node"])

        let network = try TwoNodeNetwork()
        defer { network.close() }
        let node0 = try network.start(
            node: 0, binary, network.launch(node: 0) + run + ["--experiment_id", "two-nodes"], log: root + "/node0.log")
        Thread.sleep(forTimeInterval: 2)
        let node1 = try network.start(
            node: 1, binary, network.launch(node: 1) + run + ["--experiment_id", "two-nodes"], log: root + "/node1.log")
        for (node, process) in [node0, node1].enumerated() {
            network.wait(process, seconds: 600)
            #expect(process.terminationStatus == 0, "node \(node): \(network.tail(root + "/node\(node).log"))")
        }
        let one = try trainLosses(root + "/one-node/evaluation_results.jsonl")
        let two = try trainLosses(root + "/two-nodes/evaluation_results.jsonl")
        #expect(one.count == 8)
        #expect(two == one)
    }

    /// Node 1's launcher killed mid-run: its rank dies with it, and node 0's rank fails at its next collective,
    /// naming node 1's address; node 0's launcher then exits with an error.
    @Test func aLostNodeStopsTheOtherNamingIt() throws {
        let binary = try jobs.binary
        let root = try jobs.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = "lost-" + UUID().uuidString.prefix(8)
        let run = ["run", "--config_file_path", TrainingJobTests.runConfig, "--experiments_root_path", root, "--experiment_id", id]
        let network = try TwoNodeNetwork()
        defer { network.close() }
        let node0 = try network.start(node: 0, binary, network.launch(node: 0) + run, log: root + "/node0.log")
        let node1 = try network.start(node: 1, binary, network.launch(node: 1) + run, log: root + "/node1.log")
        let results = root + "/" + id + "/evaluation_results.jsonl"
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, node0.isRunning, ((try? jobs.trainRecords(results))?.count ?? 0) < 4 { usleep(50_000) }
        try #require(node0.isRunning && node1.isRunning, "the job ended before node 1 could be lost: \(network.tail(root + "/node0.log"))")
        kill(node1.processIdentifier, SIGKILL)
        node1.waitUntilExit()
        network.wait(node0, seconds: 300)
        #expect(!node0.isRunning, "node 0 outlived the lost node")
        #expect(node0.terminationStatus != 0)
        let log = network.tail(root + "/node0.log")
        #expect(log.contains(network.addresses[1]), "node 0 names node 1's address: \(log)")
        // No rank of the job is left on either node.
        let (_, survivors) = try Subprocess.run("/usr/bin/pgrep", ["-f", id])
        #expect(survivors.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "ranks outlived the job: \(survivors)")
    }
}

/// Two network namespaces joined by a veth pair, node `i` at 10.213.N.(i+1), each with an `/etc/netns/<name>/hosts`
/// that resolves this machine's hostname to its own address (what `ip netns exec` mounts over /etc/hosts, so Gloo
/// binds to the node's interface as on a cluster). `close()` removes them.
final class TwoNodeNetwork {
    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Root, iproute2, and a namespace with one end of a veth pair in it can be made and removed here.
    static let isAvailable: Bool = {
        guard geteuid() == 0, let ip else { return false }
        let (probe, link) = ("mfs-probe-\(getpid())", "mfsp\(getpid() % 100_000)")
        defer { _ = try? Subprocess.run(ip, ["netns", "del", probe]) }
        for step in [
            ["netns", "add", probe], ["link", "add", link + "a", "type", "veth", "peer", "name", link + "b"],
            ["link", "set", link + "b", "netns", probe],
        ] {
            guard (try? Subprocess.run(ip, step).status) == 0 else {
                _ = try? Subprocess.run(ip, ["link", "del", link + "a"])
                return false
            }
        }
        return true
    }()

    let names: [String]
    let addresses: [String]
    private let hostsFolders: [String]

    init() throws {
        let tag = getpid() % 100_000
        let subnet = Int(getpid() % 250) + 1
        names = ["mfs-\(tag)-n0", "mfs-\(tag)-n1"]
        addresses = ["10.213.\(subnet).1", "10.213.\(subnet).2"]
        hostsFolders = names.map { "/etc/netns/" + $0 }
        let links = ["mfsv\(tag)a", "mfsv\(tag)b"]
        let hostname = ProcessInfo.processInfo.hostName
        var steps: [[String]] = names.map { ["netns", "add", $0] }
        steps.append(["link", "add", links[0], "type", "veth", "peer", "name", links[1]])
        for node in 0..<2 {
            steps += [
                ["link", "set", links[node], "netns", names[node]],
                ["-n", names[node], "addr", "add", addresses[node] + "/24", "dev", links[node]],
                ["-n", names[node], "link", "set", links[node], "up"], ["-n", names[node], "link", "set", "lo", "up"],
            ]
            try FileManager.default.createDirectory(atPath: hostsFolders[node], withIntermediateDirectories: true)
            try "127.0.0.1 localhost\n\(addresses[node]) \(hostname)\n".write(
                toFile: hostsFolders[node] + "/hosts", atomically: true, encoding: .utf8)
        }
        for step in steps {
            let (status, output) = try Subprocess.run(Self.ip!, step)
            if status != 0 {
                close()
                throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "ip \(step.joined(separator: " ")): \(output)"])
            }
        }
    }

    /// `launch` arguments for `node` of the two (one rank each), node 0 hosting the rendezvous.
    func launch(node: Int) -> [String] {
        ["launch", "--nnodes", "2", "--node_rank", "\(node)", "--nproc_per_node", "1", "--master_addr", addresses[0], "--"]
    }

    /// Starts `binary arguments` inside `node`'s namespace (`ip netns exec` execs it: the process is the launcher).
    func start(node: Int, _ binary: String, _ arguments: [String], log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.ip!)
        process.arguments = ["netns", "exec", names[node], binary] + arguments
        process.environment = TrainingJobTests().environment
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
    }

    /// Waits for `process`, killing it after `seconds` (a hang is a failure the caller's expectations then show).
    func wait(_ process: Process, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func tail(_ log: String) -> String {
        String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(3000))
    }

    func close() {
        for name in names { _ = try? Subprocess.run(Self.ip!, ["netns", "del", name]) }
        for folder in hostsFolders { try? FileManager.default.removeItem(atPath: folder) }
    }
}
