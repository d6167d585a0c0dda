import Foundation
// Measures what the Swift binding adds to one small libtorch operator call.
//
// The same `add` of two small float32 tensors runs (1) from Swift through Operator and the shim, and (2) in a C++
// loop inside the shim calling at::add directly. The difference per call is the binding's overhead.
// Run with `make bench`; record results in BENCHMARKS.md with the machine and date.
import Torch

struct Measurement {
    var name: String
    var nanosecondsPerCall: Double
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}

func measureSwift(iterations: Int, repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<repeats {
        let elapsed = try clock.measure {
            for _ in 0..<iterations { try body() }
        }
        samples.append(seconds(elapsed) / Double(iterations) * 1e9)
    }
    return median(samples)
}

func measureCPlusPlus(_ a: Tensor, _ b: Tensor, iterations: Int, repeats: Int) throws -> Double {
    var samples: [Double] = []
    for _ in 0..<repeats {
        samples.append(try BenchmarkHooks.addLoopSeconds(a, b, iterations: iterations) / Double(iterations) * 1e9)
    }
    return median(samples)
}

/// Times each variant alternately: best of `rounds` per repetition, the mean over `repetitions` (this VM's
/// neighbours move single timings by 10–30%).
func alternating(_ variants: [() throws -> Void], repetitions: Int = 6, rounds: Int = 5) throws -> [Double] {
    var totals = [Double](repeating: 0, count: variants.count)
    for _ in 0..<repetitions {
        for (index, body) in variants.enumerated() {
            var best = Double.infinity
            for _ in 0..<rounds {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            totals[index] += best
        }
    }
    return totals.map { $0 / Double(repetitions) }
}

// `TorchBenchmarks gemms` times only the GEMM table at the end (run it under MODALITIES_CPU_BLAS=libtorch and without
// to compare libtorch's BLAS with BLIS on an AMD CPU).
let onlyGEMMs = CommandLine.arguments.dropFirst().first == "gemms"
if !onlyGEMMs {
    let iterations = 20_000
    let repeats = 7
    Runtime.threadCount = 1
    try Runtime.start()
    print("Swift/shim overhead of one small operator call (add of two float32 tensors of 4 elements)")
    print("libtorch \(try Runtime.runtimeVersion()), 1 intra-op thread, median of \(repeats) runs of \(iterations) calls\n")

    let a = try Tensor([1, 2, 3, 4] as [Float])
    let b = try Tensor([5, 6, 7, 8] as [Float])
    // Warm up both paths so lazy operator look-ups and allocator caches do not count.
    _ = try measureSwift(iterations: 2_000, repeats: 1) { _ = try a + b }
    _ = try measureCPlusPlus(a, b, iterations: 2_000, repeats: 1)

    let cplusplus = try measureCPlusPlus(a, b, iterations: iterations, repeats: repeats)
    let swift = try measureSwift(iterations: iterations, repeats: repeats) { _ = try a + b }
    let create = try measureSwift(iterations: iterations, repeats: repeats) { _ = try Tensor.zeros([4]) }
    let metadata = measureSwift(iterations: iterations, repeats: repeats) { _ = a.shape }

    func row(_ name: String, _ value: Double) {
        let tenths = Int(value * 10 + (value < 0 ? -0.5 : 0.5))
        print("\(name.padding(to: 44)) \(tenths / 10).\(Swift.abs(tenths % 10)) ns")
    }

    row("at::add in a C++ loop inside the shim", cplusplus)
    row("a + b from Swift (Operator -> dispatcher)", swift)
    row("overhead per call (difference)", swift - cplusplus)
    row("Tensor.zeros([4]) from Swift", create)
    row("tensor.shape from Swift", metadata)
    let target = 2_000.0
    print("\ntarget: overhead under \(Int(target)) ns per call: \(swift - cplusplus < target ? "met" : "NOT met")")

    // Cross entropy over a large vocabulary, forward + backward, as the LM head of `cpu-small` produces it
    // (2048 tokens × 8192): PyTorch's cross_entropy against the fused one training uses.
    func crossEntropyMilliseconds(fused: Bool, rounds: Int) throws -> (milliseconds: Double, peakMB: Double) {
        let logits = try Tensor.randn([2048, 8192], generator: Generator(seed: 1))
        let target = try Tensor.randint(0, 8192, [2048], generator: Generator(seed: 2))
        var best = Double.infinity
        var peak = 0
        for _ in 0..<rounds {
            let input = try logits.detach().requiresGrad(true)
            Memory.resetPeak()
            let before = try Memory.cpuStatistics().currentBytes
            let start = DispatchTime.now().uptimeNanoseconds
            let produced = try input * 1
            let loss =
                fused
                ? try Functional.crossEntropyReusingLogits(produced, target: target) : try Functional.crossEntropy(produced, target: target)
            try loss.backward()
            best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            peak = Swift.max(peak, try Memory.cpuStatistics().peakBytes - before)
        }
        return (best, Double(peak) / 1_048_576)
    }
    _ = try crossEntropyMilliseconds(fused: true, rounds: 2)
    _ = try crossEntropyMilliseconds(fused: false, rounds: 2)
    let aten = try crossEntropyMilliseconds(fused: false, rounds: 10)
    let fused = try crossEntropyMilliseconds(fused: true, rounds: 10)
    print(String(format: "\ncross entropy 2048 × 8192, forward + backward (best of 10, incl. one multiply producing the logits):"))
    print(String(format: "  aten::cross_entropy  %7.1f ms, %5.0f MB above the input", aten.milliseconds, aten.peakMB))
    print(String(format: "  fused                %7.1f ms, %5.0f MB above the input", fused.milliseconds, fused.peakMB))

    // The shim's other CPU kernels against libtorch's, on `cpu-small`'s shapes and all cores: causal attention (one
    // layer: 8 sequences × 4 heads × 256 positions × 64, laid out as the model's projections leave them) and the LM
    // head with padded logits rows (2048 tokens × 256 → 8192), forward + backward. Alternating, best of 5 per
    // repetition, the mean over 6 repetitions (this VM's neighbours move single timings by 10–30%).
    Runtime.threadCount = ProcessInfo.processInfo.activeProcessorCount
    func heads(seed: UInt64) throws -> Tensor {
        try Tensor.randn([8, 256, 4, 64], generator: Generator(seed: seed)).transpose(1, 2).requiresGrad(true)
    }
    let (query, key, value) = (try heads(seed: 3), try heads(seed: 4), try heads(seed: 5))
    func attentionStep(_ attend: () throws -> Tensor) throws {
        try attend().sum().backward()
        for tensor in [query, key, value] { try tensor.setGrad(nil) }
    }
    let attention = try alternating([
        { try attentionStep { try Functional.scaledDotProductAttention(query: query, key: key, value: value, isCausal: true) } },
        { try attentionStep { try Functional.causalAttention(query: query, key: key, value: value) } },
    ])
    print(String(format: "\ncausal attention 8 × 4 × 256 × 64, forward + backward (%d threads):", Runtime.threadCount))
    print(String(format: "  libtorch flash attention  %7.1f ms", attention[0]))
    print(String(format: "  shim kernel               %7.1f ms", attention[1]))

    let hidden = try Tensor.randn([2048, 256], generator: Generator(seed: 6)).requiresGrad(true)
    let head = try (Tensor.randn([8192, 256], generator: Generator(seed: 7)) * 0.02).detach().requiresGrad(true)
    let upstream = try Tensor.randn([2048, 8192], generator: Generator(seed: 8))
    func headStep(_ project: () throws -> Tensor) throws {
        try (project() * upstream).sum().backward()
        for tensor in [hidden, head] { try tensor.setGrad(nil) }
    }
    let projection = try alternating(
        [
            { try headStep { try Functional.linear(hidden, weight: head) } },
            { try headStep { try Functional.linearPaddingRows(hidden, weight: head) } },
        ], repetitions: 4, rounds: 3)
    print("LM head 2048 × 256 → 8192, forward + backward (incl. one multiply by the upstream gradient):")
    print(String(format: "  contiguous logits rows    %7.1f ms", projection[0]))
    print(String(format: "  rows padded by 64 bytes   %7.1f ms", projection[1]))
}

// The GEMMs of `cpu-small`'s training step through `aten::mm` (row-major operands as the model's linear layers pass
// them: x · Wᵀ forward, g · W and gᵀ · x backward), on all cores; GFLOP/s of the best of 5 after warm-up, the mean
// over 4 repetitions. The library is libtorch's BLAS or BLIS (``Runtime/cpuBLAS``).
Runtime.threadCount = ProcessInfo.processInfo.activeProcessorCount
print("\nGEMMs of cpu-small's step through aten::mm, \(Runtime.cpuBLAS ?? "libtorch's BLAS"), \(Runtime.threadCount) threads:")
for (label, m, k, n, leftTransposed, rightTransposed) in [
    ("LM head forward   x · Wᵀ", 2048, 256, 8192, false, true), ("LM head input grad g · W", 2048, 8192, 256, false, false),
    ("LM head weight grad gᵀ · x", 8192, 2048, 256, true, false), ("MLP up forward", 2048, 256, 1024, false, true),
    ("MLP down forward", 2048, 1024, 256, false, true), ("projection forward", 2048, 256, 256, false, true),
    ("projection weight grad", 256, 2048, 256, true, false),
] {
    func matrix(_ rows: Int, _ columns: Int, transposed: Bool, seed: UInt64) throws -> Tensor {
        transposed
            ? try Tensor.randn([columns, rows], generator: Generator(seed: seed)).transpose(0, 1)
            : try Tensor.randn([rows, columns], generator: Generator(seed: seed))
    }
    let left = try matrix(m, k, transposed: leftTransposed, seed: 9)
    let right = try matrix(k, n, transposed: rightTransposed, seed: 10)
    let milliseconds = try alternating([{ _ = try left.mm(right) }], repetitions: 4, rounds: 5)[0]
    let gflops = 2.0 * Double(m * k * n) / (milliseconds / 1e3) / 1e9
    print(String(format: "  %@ %5d × %5d × %5d  %7.2f ms  %6.1f GFLOP/s", label.padding(to: 28), m, k, n, milliseconds, gflops))
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
