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

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
