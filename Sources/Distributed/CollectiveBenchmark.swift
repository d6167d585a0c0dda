import Foundation
import Torch

/// nccl-tests' measurement of a collective (the seed paper's Figure 2, right): for message sizes from small to large,
/// the time of one call averaged over iterations after a warm-up, the algorithm bandwidth (bytes / time) and the bus
/// bandwidth (the algorithm bandwidth times the share of the data each rank's links carry in a ring, which makes
/// sizes and rank counts comparable with the hardware's peak).
public struct CollectiveBenchmark: Sendable {
    /// The collectives measured, with nccl-tests' size convention and bus-bandwidth factor.
    public enum Operation: String, CaseIterable, Sendable {
        case allReduce = "all_reduce"
        case allGather = "all_gather"
        case reduceScatter = "reduce_scatter"

        /// busbw / algbw for `ranks` ranks: 2(n−1)/n for all-reduce (a reduce-scatter then an all-gather), (n−1)/n for
        /// all-gather and reduce-scatter (nccl-tests' PERFORMANCE.md).
        public func busBandwidthFactor(ranks: Int) -> Double {
            let n = Double(ranks)
            switch self {
            case .allReduce: return 2 * (n - 1) / n
            case .allGather, .reduceScatter: return (n - 1) / n
            }
        }
    }

    /// One message size of one collective.
    public struct Measurement: Sendable, Equatable, Codable {
        public var operation: String
        public var ranks: Int
        /// nccl-tests' size: the buffer all-reduced, the whole gathered output, the whole input scattered.
        public var bytes: Int
        /// Mean seconds per call, the slowest rank's.
        public var seconds: Double
        /// bytes / seconds, in GB/s (10⁹ bytes).
        public var algorithmBandwidth: Double
        /// algorithmBandwidth × the operation's bus factor, in GB/s.
        public var busBandwidth: Double
        /// "gloo" or "nccl".
        public var backend: String

        public init(operation: Operation, ranks: Int, bytes: Int, seconds: Double, backend: String = "gloo") {
            self.operation = operation.rawValue
            self.backend = backend
            self.ranks = ranks
            self.bytes = bytes
            self.seconds = seconds
            algorithmBandwidth = seconds > 0 ? Double(bytes) / seconds / 1e9 : 0
            busBandwidth = algorithmBandwidth * operation.busBandwidthFactor(ranks: ranks)
        }

        enum CodingKeys: String, CodingKey {
            case operation, ranks, bytes, seconds, backend, algorithmBandwidth = "algbw_gbps", busBandwidth = "busbw_gbps"
        }
    }

    public var operations: [Operation]
    /// Message sizes: `minimumBytes`, then each `factor` times the previous, up to `maximumBytes`.
    public var minimumBytes: Int
    public var maximumBytes: Int
    public var factor: Int
    public var warmup: Int
    public var iterations: Int

    public init(
        operations: [Operation] = Operation.allCases, minimumBytes: Int = 1 << 10, maximumBytes: Int = 1 << 30, factor: Int = 2,
        warmup: Int = 5, iterations: Int = 20
    ) throws {
        guard minimumBytes >= 4, maximumBytes >= minimumBytes, factor >= 2, warmup >= 0, iterations >= 1, !operations.isEmpty else {
            throw DistributedError.invalidArgument(
                "collective benchmark: sizes must satisfy 4 ≤ min ≤ max (found \(minimumBytes), \(maximumBytes)), factor ≥ 2 (\(factor)), iterations ≥ 1 (\(iterations)), and at least one operation"
            )
        }
        self.operations = operations
        self.minimumBytes = minimumBytes
        self.maximumBytes = maximumBytes
        self.factor = factor
        self.warmup = warmup
        self.iterations = iterations
    }

    /// The message sizes, each rounded down to whole float32 elements that split evenly over `ranks`.
    public func sizes(ranks: Int) -> [Int] {
        var sizes: [Int] = []
        var bytes = minimumBytes
        while bytes <= maximumBytes {
            let elements = Swift.max(bytes / 4 / ranks, 1) * ranks
            if sizes.last != elements * 4 { sizes.append(elements * 4) }
            let (next, overflow) = bytes.multipliedReportingOverflow(by: factor)
            if overflow { break }
            bytes = next
        }
        return sizes
    }

    /// Runs every operation at every size on `group` (all ranks call it), on float32 tensors on `device`; each time
    /// is the slowest rank's mean, so every rank returns the same measurements.
    public func run(on group: ProcessGroup, device: Device = .cpu, report: (Measurement) -> Void = { _ in }) throws -> [Measurement] {
        let ranks = group.size
        var results: [Measurement] = []
        for operation in operations {
            for bytes in sizes(ranks: ranks) {
                let elements = bytes / 4
                let whole = try Tensor.ones([elements], device: device)
                let part = try Tensor.ones([elements / ranks], device: device)
                let call: () throws -> Void
                switch operation {
                case .allReduce: call = { try group.allReduce(whole) }
                case .allGather: call = { try group.allGather(into: whole, from: part) }
                case .reduceScatter: call = { try group.reduceScatter(into: part, from: whole) }
                }
                for _ in 0..<warmup { try call() }
                try synchronize(device)
                try group.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<iterations { try call() }
                try synchronize(device)
                let mean = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
                let slowest = try Tensor([mean], shape: [1]).to(device: device)
                try group.allReduce(slowest, .max)
                let measurement = Measurement(
                    operation: operation, ranks: ranks, bytes: bytes, seconds: try slowest.item(Double.self),
                    backend: group.usesNCCL && device.kind == .cuda ? "nccl" : "gloo")
                report(measurement)
                results.append(measurement)
            }
        }
        return results
    }

    private func synchronize(_ device: Device) throws {
        if device.kind != .cpu { try Accelerator.synchronize(device) }
    }

    /// The header of nccl-tests' table: size, count, time in µs, algbw and busbw in GB/s.
    public static let tableHeader = "#  operation        size (B)       count   time (us)  algbw (GB/s)  busbw (GB/s)"

    /// One measurement as a line of the table.
    public static func tableRow(_ m: Measurement) -> String {
        String(
            format: "%@ %15d %11d %11.1f %13.3f %13.3f", m.operation.padding(toLength: 16, withPad: " ", startingAt: 0), m.bytes,
            m.bytes / 4, m.seconds * 1e6, m.algorithmBandwidth, m.busBandwidth)
    }

    /// nccl-tests' table: the header, then one line per measurement.
    public static func table(_ measurements: [Measurement]) -> String {
        ([tableHeader] + measurements.map(tableRow)).joined(separator: "\n")
    }
}
