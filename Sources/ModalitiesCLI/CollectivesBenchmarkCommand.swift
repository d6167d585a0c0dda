import ArgumentParser
import Distributed
import Foundation
import Torch

/// `modalities benchmark collectives`: nccl-tests' sweep over message sizes for all_reduce, all_gather and
/// reduce_scatter on the launched ranks (Gloo on CPU ranks, NCCL with `--device cuda`).
struct CollectivesBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectives",
        abstract:
            "Run under `launch`: time all_reduce, all_gather and reduce_scatter from --min_bytes to --max_bytes (nccl-tests' time, algbw and busbw); rank 0 prints a table, or JSON lines.",
        discussion: "Example: modalities launch --nproc_per_node 4 -- benchmark collectives --max_bytes 64M")

    @Option(name: .customLong("min_bytes"), help: "Smallest message (K, M, G suffixes: powers of 1024).") var minimumBytes = "1K"
    @Option(name: .customLong("max_bytes"), help: "Largest message.") var maximumBytes = "1G"
    @Option(help: "Each size is this many times the previous.") var factor = 2
    @Option var warmup = 5
    @Option var iterations = 20
    @Option(help: "Comma-separated: all_reduce, all_gather, reduce_scatter.") var operations = "all_reduce,all_gather,reduce_scatter"
    @Flag(help: "One JSON line per measurement instead of the table.") var json = false
    @OptionGroup var rankOptions: CollectiveRankOptions

    /// `1024`, `4K`, `64M`, `1G` as bytes.
    static func bytes(_ text: String) throws -> Int {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = text.uppercased()
        var multiplier = 1
        if let last = digits.last, let unit = units[last] {
            multiplier = unit
            digits.removeLast()
        }
        guard let value = Int(digits), value > 0 else { throw ValidationError("'\(text)' is not a size in bytes (e.g. 4096, 4K, 64M, 1G)") }
        return value * multiplier
    }

    func run() throws {
        let chosen = try operations.split(separator: ",").map { name -> CollectiveBenchmark.Operation in
            guard let operation = CollectiveBenchmark.Operation(rawValue: String(name)) else {
                throw ValidationError(
                    "--operations: unknown '\(name)'; choose from \(CollectiveBenchmark.Operation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return operation
        }
        let benchmark: CollectiveBenchmark
        do {
            benchmark = try CollectiveBenchmark(
                operations: chosen, minimumBytes: try Self.bytes(minimumBytes), maximumBytes: try Self.bytes(maximumBytes), factor: factor,
                warmup: warmup, iterations: iterations)
        } catch let error as DistributedError {
            throw ValidationError(error.description)
        }
        guard let (group, device) = try rankOptions.joinGroup(includingOneRank: true) else {
            throw ValidationError("run under `modalities launch --nproc_per_node N` (N ≥ 1): the collectives need a process group")
        }
        if group.rank == 0 && !json {
            print(
                "# \(group.size) rank(s), \(CollectiveRankOptions.backendName(group, on: device)); times are the slowest rank's mean over \(iterations) calls"
            )
            print(CollectiveBenchmark.tableHeader)
        }
        _ = try benchmark.run(on: group, device: device) { measurement in
            guard group.rank == 0 else { return }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: (try? encoder.encode(measurement)) ?? Data(), as: UTF8.self))
            } else {
                print(CollectiveBenchmark.tableRow(measurement))
            }
            fflush(nil)
        }
    }
}
