import Foundation
import Testing
import Torch

/// `benchmark collectives` on 1, 2 and 4 launched CPU ranks (Gloo): one JSON line per operation and size, with the
/// slowest rank's time and the bandwidths nccl-tests would print for it.
@Suite struct CollectivesBenchmarkRunTests {
    @Test(arguments: [1, 2, 4])
    func jsonLinesCoverEveryOperationAndSize(ranks: Int) throws {
        let (status, output) = try DistributedLaunchTests().launch([
            "launch", "--nproc_per_node", "\(ranks)", "--master_port", DistributedLaunchTests.port(), "--", "benchmark", "collectives",
            "--min_bytes", "1K", "--max_bytes", "64K", "--factor", "8", "--warmup", "1", "--iterations", "3", "--json",
        ])
        #expect(status == 0, "\(output)")
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("{") }
        // 1K, 8K, 64K for each of the three operations, printed once (by rank 0).
        #expect(lines.count == 9, "\(output)")
        for line in lines {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let operation = try #require(record["operation"] as? String)
            let bytes = try #require(record["bytes"] as? Int)
            let seconds = try #require(record["seconds"] as? Double)
            let algbw = try #require(record["algbw_gbps"] as? Double)
            let busbw = try #require(record["busbw_gbps"] as? Double)
            #expect(record["ranks"] as? Int == ranks && seconds > 0)
            #expect(record["backend"] as? String == "gloo")
            #expect(bytes % (4 * ranks) == 0)
            #expect(abs(algbw - Double(bytes) / seconds / 1e9) <= 1e-9 * algbw)
            let factor = operation == "all_reduce" ? 2 * Double(ranks - 1) / Double(ranks) : Double(ranks - 1) / Double(ranks)
            #expect(abs(busbw - algbw * factor) <= 1e-9 * busbw, "\(line)")
        }
    }

    @Test func cudaRanksRunNCCLOrSayWhyNot() throws {
        let (status, output) = try DistributedLaunchTests().launch([
            "launch", "--nproc_per_node", "1", "--master_port", DistributedLaunchTests.port(), "--", "benchmark", "collectives",
            "--max_bytes", "4K", "--warmup", "1", "--iterations", "2", "--device", "cuda",
        ])
        if CUDA.driverNodeExists {
            #expect(status == 0 && output.contains("NCCL"), "\(output)")
        } else {
            // No GPU: the rank stops before any collective, naming the option and why.
            #expect(status != 0)
            #expect(output.contains("--device cuda: "), "\(output)")
        }
    }

    @Test func badSizesAreRefusedNamingTheOption() throws {
        let (status, output) = try DistributedLaunchTests().launch(["benchmark", "collectives", "--max_bytes", "12Q"])
        #expect(status != 0)
        #expect(output.contains("'12Q' is not a size in bytes"))
    }
}
