import Foundation
import Torch

/// What only a GPU has: pinned host memory, streams and events, allocator statistics, bf16 autocast, the flash
/// attention backend and CUDA graphs; plus a matmul throughput figure for the record.
extension DeviceSelfTest {
    var acceleratorChecks: [Check] {
        [
            Check(name: "device properties", needsAccelerator: true) { test in
                guard test.device.kind == .cuda else { return "\(test.device)" }
                let properties = try CUDA.deviceProperties(test.device.index ?? 0)
                let (free, total) = try Accelerator.memoryInfo(of: test.device)
                return
                    "\(properties.name), compute capability \(properties.computeCapability.major).\(properties.computeCapability.minor), "
                    + "\(properties.multiprocessors) multiprocessors, \(total >> 20) MiB (\(free >> 20) MiB free)"
            },
            Check(name: "pinned host memory and non-blocking copies both ways", needsAccelerator: true) { test in
                let host = try Tensor.randn([1 << 20], generator: Generator(seed: 5)).pinned()
                guard try host.isPinned() else { throw Mismatch(description: "pin_memory returned unpinned memory") }
                let onDevice = try host.to(device: test.device, nonBlocking: true)
                let back = try Tensor.empty([1 << 20]).pinned()
                try back.copy_(onDevice * 2)
                try Accelerator.synchronize(test.device)
                guard try back.equal(host * 2) else { throw Mismatch(description: "the round trip changed the values") }
                return "4 MiB pinned, copied to \(test.device) and back without blocking"
            },
            Check(name: "streams and timing events", needsAccelerator: true) { test in
                let a = try Tensor.randn([1024, 1024], device: test.device), b = try Tensor.randn([1024, 1024], device: test.device)
                let expected = try a.matmul(b)
                let side = try Stream.fromPool(on: test.device)
                guard side != (try Stream.current(on: test.device)) else { throw Mismatch(description: "the pool gave the current stream") }
                let start = try Event(device: test.device, timing: true), end = try Event(device: test.device, timing: true)
                try side.wait(for: Stream.current(on: test.device))
                let product = try side.withCurrent { () -> Tensor in
                    try start.record(on: side)
                    var product = try a.matmul(b)
                    for _ in 0..<9 { product = try a.matmul(b) }
                    try end.record(on: side)
                    return product
                }
                try end.synchronize()
                guard try end.isFinished(), try side.isFinished() else {
                    throw Mismatch(description: "work still queued after synchronize")
                }
                let milliseconds = try end.elapsedMilliseconds(since: start)
                _ = try DeviceSelfTest.relativeDifference(product, expected, label: "side-stream matmul", tolerance: 1e-6)
                guard milliseconds > 0 else { throw Mismatch(description: "events measured \(milliseconds) ms") }
                return "10 fp32 1024^3 matmuls on a side stream took \(String(format: "%.3f", milliseconds)) ms by events"
            },
            Check(name: "caching allocator statistics", needsAccelerator: true) { test in
                try Accelerator.synchronize(test.device)
                try Accelerator.resetPeakMemory(of: test.device)
                let before = try Accelerator.memoryStatistics(of: test.device)
                var block: Tensor? = try Tensor.empty([64 << 20], dtype: .uint8, device: test.device)
                let during = try Accelerator.memoryStatistics(of: test.device)
                block = nil
                let after = try Accelerator.memoryStatistics(of: test.device)
                guard block == nil, during.allocatedBytes - before.allocatedBytes >= 64 << 20,
                    during.peakAllocatedBytes >= during.allocatedBytes,
                    after.allocatedBytes == before.allocatedBytes, during.reservedBytes >= during.allocatedBytes
                else {
                    throw Mismatch(description: "counters before \(before), during \(during), after \(after)")
                }
                try Accelerator.emptyCache(of: test.device.kind)
                return
                    "a 64 MiB block: allocated \(before.allocatedBytes >> 20) -> \(during.allocatedBytes >> 20) -> \(after.allocatedBytes >> 20) MiB, peak \(during.peakAllocatedBytes >> 20) MiB"
            },
            Check(name: "bf16 autocast on the device", needsAccelerator: true) { test in
                let x = try Tensor.randn([256, 512], device: test.device), w = try Tensor.randn([384, 512], device: test.device)
                let reference = try Functional.linear(x, weight: w)
                let autocast = try Autocast.scope(device: test.device, dtype: .bfloat16) { try Functional.linear(x, weight: w) }
                guard autocast.dtype == .bfloat16 else { throw Mismatch(description: "autocast gave \(autocast.dtype), not bfloat16") }
                let difference = try DeviceSelfTest.relativeDifference(autocast, reference, label: "bf16 linear", tolerance: 2e-2)
                return "linear under autocast is bfloat16, within \(DeviceSelfTest.formatted(difference)) of float32"
            },
            Check(name: "scaled_dot_product_attention picks flash attention for bf16", needsAccelerator: true) { test in
                let q = try Tensor.randn([2, 8, 256, 64], dtype: .bfloat16, device: test.device)
                let k = try Tensor.randn([2, 8, 256, 64], dtype: .bfloat16, device: test.device)
                let v = try Tensor.randn([2, 8, 256, 64], dtype: .bfloat16, device: test.device)
                let backend = try Functional.attentionBackend(query: q, key: k, value: v, isCausal: true)
                guard backend == .flashAttention else { throw Mismatch(description: "the dispatcher picked \(backend)") }
                return "\(backend) for (2, 8, 256, 64) bf16 causal"
            },
            Check(name: "CUDA graph replay equals eager and its speed-up", needsAccelerator: true) { test in
                try Self.checkGraphReplay(on: test.device)
            },
            Check(name: "bf16 matmul throughput", needsAccelerator: true) { test in
                let n = 8192
                let a = try Tensor.randn([n, n], dtype: .bfloat16, device: test.device),
                    b = try Tensor.randn([n, n], dtype: .bfloat16, device: test.device)
                _ = try a.matmul(b)
                let stream = try Stream.current(on: test.device)
                let start = try Event(device: test.device, timing: true), end = try Event(device: test.device, timing: true)
                try start.record(on: stream)
                for _ in 0..<20 { _ = try a.matmul(b) }
                try end.record(on: stream)
                try end.synchronize()
                let seconds = try end.elapsedMilliseconds(since: start) / 1000
                let teraflops = 20 * 2 * pow(Double(n), 3) / seconds / 1e12
                return String(format: "%.0f TFLOP/s (20 bf16 %dx%d matmuls)", teraflops, n, n)
            },
        ]
    }

    /// Captures a small MLP step into a CUDA graph, replays it on new inputs and compares with eager; times both.
    static func checkGraphReplay(on device: Device) throws -> String {
        guard device.kind == .cuda else { return "CUDA only" }
        let generator = try Generator(seed: 9)
        let weight1 = try Tensor.randn([512, 256], generator: generator).to(device: device) * 0.05
        let weight2 = try Tensor.randn([256, 512], generator: generator).to(device: device) * 0.05
        let staticInput = try Tensor.zeros([64, 256], device: device)
        func step(_ x: Tensor) throws -> Tensor {
            try Functional.layerNorm(
                Functional.linear(Functional.linear(x, weight: weight1).gelu(), weight: weight2) + x, normalizedShape: [256])
        }
        // Warm up on a side stream so lazily made state (cuBLAS handles, workspaces) exists before capture.
        let warmup = try Stream.fromPool(on: device)
        try warmup.wait(for: Stream.current(on: device))
        try warmup.withCurrent { for _ in 0..<3 { _ = try step(staticInput) } }
        try Stream.current(on: device).wait(for: warmup)

        let graph = try CUDAGraph()
        var staticOutput: Tensor?
        try graph.capture(on: device) { staticOutput = try step(staticInput) }
        guard let staticOutput else { throw Mismatch(description: "the capture made no output") }

        var worst = 0.0
        for trial in 0..<3 {
            let input = try Tensor.randn([64, 256], generator: Generator(seed: UInt64(100 + trial))).to(device: device)
            try staticInput.copy_(input)
            try graph.replay()
            let eager = try step(input)
            try Accelerator.synchronize(device)
            worst = max(worst, try relativeDifference(staticOutput, eager, label: "replay \(trial)", tolerance: 1e-5))
        }

        let stream = try Stream.current(on: device)
        func milliseconds(_ body: () throws -> Void) throws -> Double {
            let start = try Event(device: device, timing: true), end = try Event(device: device, timing: true)
            try start.record(on: stream)
            for _ in 0..<200 { try body() }
            try end.record(on: stream)
            try end.synchronize()
            return try end.elapsedMilliseconds(since: start) / 200
        }
        let eagerTime = try milliseconds { _ = try step(staticInput) }
        let replayTime = try milliseconds { try graph.replay() }
        return String(
            format: "3 replays within %@ of eager; %.3f ms eager, %.3f ms replayed (%.1fx)",
            formatted(worst), eagerTime, replayTime, eagerTime / replayTime)
    }
}
