import ArgumentParser
import Distributed
import Foundation
import Launcher
import Torch

/// `modalities launch`: starts and watches this node's ranks of a multi-process job.
struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Start N ranks of a modalities command on this node (like torchrun) and watch them: one failing stops the job.",
        discussion: "Example: modalities launch --nproc_per_node 2 -- run --config_file_path c.yaml --experiments_root_path runs")

    @Option(name: .customLong("nproc_per_node")) var processesPerNode: Int
    @Option(name: .customLong("nnodes")) var nodes = 1
    @Option(name: .customLong("node_rank")) var nodeRank = 0
    @Option(name: .customLong("master_addr")) var masterAddress = "127.0.0.1"
    @Option(name: .customLong("master_port")) var masterPort = 29_500
    @Option(name: .customLong("grace_period"), help: "Seconds the other ranks get to stop after one failed.") var gracePeriod = 5.0
    @Flag(name: .customLong("allow_oversubscribe"), help: "Start more than four ranks per core (or eight on a small machine).")
    var allowOversubscribe = false
    @ArgumentParser.Argument(parsing: .postTerminator, help: "The modalities command each rank runs.") var command: [String]

    func run() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. -- run --config_file_path c.yaml ...") }
        var launcher = RankLauncher(
            executable: URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path,
            arguments: command, processesPerNode: processesPerNode, environment: ProcessEnvironment.variables)
        launcher.nodes = nodes
        launcher.nodeRank = nodeRank
        launcher.masterAddress = masterAddress
        launcher.masterPort = masterPort
        launcher.gracePeriod = gracePeriod
        launcher.allowOversubscribe = allowOversubscribe
        let outcome = try launcher.run()
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }
}

/// `modalities collectives_check`: every collective on the launched ranks, checked, with optional bandwidth.
struct CollectivesCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectives_check",
        abstract:
            "Run under `launch`: check all_reduce, broadcast, all_gather, reduce_scatter, send/recv and barrier; optionally time them.")

    @Flag(help: "Also time all_reduce, reduce_scatter and all_gather at 1, 16 and 64 MB.") var bandwidth = false
    @Flag(
        name: .customLong("gloo_constants"),
        help:
            "Also fit the ring step latency and bandwidth of all_gather and reduce_scatter (64 KB to 32 MB) and print them as JSON (the run planner's --gloo_step_latency_us and --gloo_gbps)."
    )
    var glooConstants = false
    @Option(name: .customLong("exit_rank"), help: "This rank exits with status 3 after the rendezvous (to test failure handling).")
    var exitRank: Int?
    @Option(
        name: .customLong("hold_seconds"),
        help: "Every rank then waits this long and meets the others at a last barrier (to try stopping a job).")
    var holdSeconds: Double?
    @Option(name: .customLong("timeout_seconds"), help: "How long a collective waits for the other ranks.")
    var timeoutSeconds = 60.0
    @OptionGroup var rankOptions: CollectiveRankOptions

    func run() throws {
        guard timeoutSeconds > 0 else { throw ValidationError("--timeout_seconds must be positive") }
        // One rank is enough on a GPU: NCCL's communicator and kernels are still exercised.
        guard
            let (group, device) = try rankOptions.joinGroup(
                timeout: .milliseconds(Int64(timeoutSeconds * 1000)), includingOneRank: rankOptions.device == .cuda)
        else {
            throw ValidationError("run under `modalities launch` with 2 or more ranks (or 1 with --device cuda)")
        }
        let (rank, size) = (group.rank, group.size)
        if rank == exitRank { Foundation.exit(3) }
        let sum = try Tensor([Float(rank + 1)], shape: [1]).to(device: device)
        try group.allReduce(sum)
        try expect(try sum.item(Float.self) == Float(size * (size + 1) / 2), "all_reduce")
        if device.kind == .cuda {
            // bf16 reductions and several tensors in one call (NCCL coalesces them).
            let halves = try (0..<2).map { _ in try Tensor([Float(rank + 1)], shape: [1]).to(device: device, dtype: .bfloat16) }
            try group.allReduce(halves)
            for half in halves {
                try expect(try half.to(dtype: .float32).item(Float.self) == Float(size * (size + 1) / 2), "bf16 all_reduce")
            }
        }
        let value = try Tensor([Float(rank == 0 ? 42 : 0)], shape: [1]).to(device: device)
        try group.broadcast(value, root: 0)
        try expect(try value.item(Float.self) == 42, "broadcast")
        let gathered = try Tensor.zeros([size * 2], device: device)
        try group.allGather(into: gathered, from: try Tensor([Float(rank), Float(rank)], shape: [2]).to(device: device))
        try expect(try gathered.toArray(Float.self) == (0..<size).flatMap { [Float($0), Float($0)] }, "all_gather")
        let scattered = try Tensor.zeros([2], device: device)
        try group.reduceScatter(into: scattered, from: try Tensor.ones([size * 2], device: device))
        try expect(try scattered.toArray(Float.self) == [Float(size), Float(size)], "reduce_scatter")
        let asynchronous = try Tensor([Float(rank + 1)], shape: [1]).to(device: device)
        try group.allReduceAsync([asynchronous]).wait()
        try expect(try asynchronous.item(Float.self) == Float(size * (size + 1) / 2), "asynchronous all_reduce")
        if size >= 2, rank < 2 {
            let message = try Tensor([Float(7)], shape: [1]).to(device: device)
            if rank == 0 {
                try group.send(message, to: 1)
            } else {
                try group.receive(into: message, from: 0)
                try expect(try message.item(Float.self) == 7, "send/recv")
            }
        }
        try expect(try group.broadcast("experiment-\(rank)") == "experiment-0", "string broadcast")
        if size >= 4, size % 2 == 0 {
            // Pairs of neighbours as a mesh dimension: {0, 1}, {2, 3}, ...
            let pair = try group.subgroup(members: [rank - rank % 2, rank - rank % 2 + 1], name: "pairs")
            let value = try Tensor([Float(rank)], shape: [1]).to(device: device)
            try pair.allReduce(value)
            try expect(try value.item(Float.self) == Float(2 * (rank - rank % 2) + 1), "subgroup all_reduce")
        }
        try group.barrier()
        print("rank \(rank) of \(size): collectives ok (\(CollectiveRankOptions.backendName(group, on: device)))")
        fflush(nil)
        if bandwidth { try measureBandwidth(group) }
        if glooConstants { try measureRingConstants(group) }
        if let holdSeconds, holdSeconds > 0 {
            Thread.sleep(forTimeInterval: holdSeconds)
            try group.barrier()
        }
    }

    private func expect(_ condition: Bool, _ name: String) throws {
        if !condition { throw DistributedError.collectiveFailed("\(name) gave a wrong result") }
    }

    /// Times FSDP's two collectives at sizes from 64 KB to 32 MB and fits t = (n − 1)·α + (n − 1)/n · bytes / β by
    /// least squares: α, the time of one ring step, and β, the bandwidth — the planner's latency–bandwidth model.
    /// All ranks must run it (it is collective); rank 0 prints the JSON line.
    private func measureRingConstants(_ group: ProcessGroup) throws {
        let n = Double(group.size)
        var samples: [(x: Double, seconds: Double)] = []
        for kilobytes in [64, 256, 1024, 4096, 16384, 32768] {
            let elements = kilobytes * 1024 / 4 / group.size * group.size
            let whole = try Tensor.zeros([elements])
            let shard = try Tensor.zeros([elements / group.size])
            for body in [{ try group.allGather(into: whole, from: shard) }, { try group.reduceScatter(into: shard, from: whole) }]
                as [() throws -> Void]
            {
                try body()
                try group.barrier()
                let rounds = 8
                let start = DispatchTime.now()
                for _ in 0..<rounds { try body() }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 / Double(rounds)
                samples.append(((n - 1) / n * Double(elements * 4), seconds))
            }
        }
        // Weighted by 1/t², so that the small sizes, where the latency shows, count as much as the large ones.
        let weights = samples.map { 1 / ($0.seconds * $0.seconds) }
        let total = weights.reduce(0, +)
        let meanX = zip(weights, samples).map { $0 * $1.x }.reduce(0, +) / total
        let meanT = zip(weights, samples).map { $0 * $1.seconds }.reduce(0, +) / total
        let slope =
            zip(weights, samples).map { $0 * ($1.x - meanX) * ($1.seconds - meanT) }.reduce(0, +)
            / zip(weights, samples).map { $0 * pow($1.x - meanX, 2) }.reduce(0, +)
        let intercept = max(0, meanT - slope * meanX)
        guard group.rank == 0 else { return }
        let record: [String: Any] = [
            "ranks": group.size, "gloo_step_latency_us": intercept / (n - 1) * 1e6, "gloo_gbps": 8 / slope / 1e9,
            "samples": samples.map { ["bytes_per_rank": $0.x, "seconds": $0.seconds] },
        ]
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    private func measureBandwidth(_ group: ProcessGroup) throws {
        for megabytes in [1, 16, 64] {
            let elements = megabytes * 1_048_576 / 4
            let tensor = try Tensor.ones([elements])
            let gathered = try Tensor.zeros([elements])
            let shard = try Tensor.zeros([elements / group.size])
            var results: [String] = []
            for (name, body) in [
                ("all_reduce", { try group.allReduce(tensor) }),
                ("reduce_scatter", { try group.reduceScatter(into: shard, from: tensor) }),
                ("all_gather", { try group.allGather(into: gathered, from: shard) }),
            ] as [(String, () throws -> Void)] {
                try body()
                try group.barrier()
                let start = DispatchTime.now()
                let rounds = 5
                for _ in 0..<rounds { try body() }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 / Double(rounds)
                results.append(
                    String(format: "%@ %.3f GB/s (%.1f ms)", name, Double(megabytes * 1_048_576) / seconds / 1e9, seconds * 1000))
            }
            if group.rank == 0 { print("\(megabytes) MB f32, \(group.size) ranks: " + results.joined(separator: ", ")) }
        }
    }
}
