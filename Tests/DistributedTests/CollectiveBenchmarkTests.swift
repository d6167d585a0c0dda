import Testing

@testable import Distributed

/// nccl-tests' arithmetic: sizes, bus-bandwidth factors and the table.
@Suite struct CollectiveBenchmarkTests {
    @Test func busBandwidthUsesNCCLTestsFactors() {
        // 8 ranks: all-reduce moves 2·7/8 of the buffer over each link, all-gather and reduce-scatter 7/8.
        #expect(CollectiveBenchmark.Operation.allReduce.busBandwidthFactor(ranks: 8) == 1.75)
        #expect(CollectiveBenchmark.Operation.allGather.busBandwidthFactor(ranks: 8) == 0.875)
        #expect(CollectiveBenchmark.Operation.reduceScatter.busBandwidthFactor(ranks: 2) == 0.5)
        #expect(CollectiveBenchmark.Operation.allReduce.busBandwidthFactor(ranks: 1) == 0)
        let measurement = CollectiveBenchmark.Measurement(operation: .allReduce, ranks: 4, bytes: 1 << 20, seconds: 0.001)
        #expect(abs(measurement.algorithmBandwidth - 1.048576) < 1e-12)
        #expect(abs(measurement.busBandwidth - 1.048576 * 1.5) < 1e-12)
    }

    @Test func sizesGrowByTheFactorAndSplitOverTheRanks() throws {
        let benchmark = try CollectiveBenchmark(minimumBytes: 1024, maximumBytes: 1 << 20, factor: 4)
        #expect(benchmark.sizes(ranks: 2) == [1024, 4096, 16384, 65536, 262_144, 1_048_576])
        // 1000 bytes = 250 floats: 249 over 3 ranks (83 each).
        #expect(try CollectiveBenchmark(minimumBytes: 1000, maximumBytes: 1000).sizes(ranks: 3) == [996])
        #expect(throws: DistributedError.self) { try CollectiveBenchmark(minimumBytes: 2048, maximumBytes: 1024) }
        #expect(throws: DistributedError.self) { try CollectiveBenchmark(factor: 1) }
        let table = CollectiveBenchmark.table([
            CollectiveBenchmark.Measurement(operation: .allGather, ranks: 2, bytes: 4096, seconds: 2e-6)
        ])
        #expect(table.split(separator: "\n").last?.contains("all_gather") == true)
        #expect(table.contains("2.048") && table.contains("1.024"), "\(table)")
    }
}
