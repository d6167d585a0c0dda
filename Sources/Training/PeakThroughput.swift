import Foundation
import Observability
import Torch

/// The peak FLOP/s MFU is measured against: a true upper bound of what the devices can do, so that MFU never
/// exceeds 1. Accelerators have published peaks (``Observability/GPT2MFUCalculator``); a CPU's is the higher of its
/// theoretical peak (cores × clock × float32 FLOPs per cycle, ``CPUPeak``) and the best float32 GEMM this process
/// measured, worked out once and cached in `~/.cache/modalities/cpu-peak.json`, keyed by CPU model, thread count and
/// the BLAS the products run on (``Torch/Runtime/cpuBLAS``).
public enum PeakThroughput {
    /// The CPU's peak float32 FLOP/s for libtorch's current thread count (``CPUPeak/flopsPerSecond``).
    public static func cpuFlopsPerSecond(cacheFolder: String = defaultCacheFolder) throws -> Double {
        try cpuPeak(cacheFolder: cacheFolder).flopsPerSecond
    }

    /// The CPU's peak and how it was found, from the cache when this CPU, thread count and BLAS were seen before.
    public static func cpuPeak(cacheFolder: String = defaultCacheFolder) throws -> CPUPeak {
        let key = "\(cpuModel()) × \(Runtime.threadCount) threads" + (Runtime.cpuBLAS.map { " × \($0)" } ?? "")
        let cachePath = cacheFolder + "/cpu-peak.json"
        var cached =
            (FileManager.default.contents(atPath: cachePath).flatMap { try? JSONDecoder().decode([String: CPUPeak].self, from: $0) }) ?? [:]
        if let peak = cached[key] { return peak }
        let cores = min(Runtime.threadCount, ProcessInfo.processInfo.activeProcessorCount)
        // The GEMMs first: their warm-up brings the cores to their clock before it is timed. Whole numbers survive the
        // JSON round trip exactly.
        let measuredGEMM = try measureGEMM().rounded()
        let peak = CPUPeak(
            cores: cores, clockHertz: Runtime.measureCPUClock()?.rounded(), flopsPerCycle: Runtime.cpuFloat32FlopsPerCycle,
            measuredGEMM: measuredGEMM)
        cached[key] = peak
        try? FileManager.default.createDirectory(atPath: cacheFolder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = try? encoder.encode(cached) { try? data.write(to: URL(fileURLWithPath: cachePath), options: .atomic) }
        return peak
    }

    /// `~/.cache/modalities`, where the CPU's peak is kept.
    public static var defaultCacheFolder: String { FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/modalities" }

    /// A GPU's published dense peak: bf16 from ``GPT2MFUCalculator/peakFlops(deviceName:)``; for float32 (no TF32,
    /// PyTorch's default for matmul) the non-tensor-core figure (A100 19.5, H100/H200 67 TFLOP/s).
    /// - Throws: when the device is not in the table (MFU would be meaningless).
    public static func gpuFlopsPerSecond(deviceName: String, bf16: Bool) throws -> Double {
        if bf16, let peak = GPT2MFUCalculator.peakFlops(deviceName: deviceName) { return peak }
        let float32: [(String, Double)] = [("A100", 19.5e12), ("H100", 67e12), ("H200", 67e12), ("GH200", 67e12)]
        if !bf16, let entry = float32.first(where: { deviceName.contains($0.0) }) { return entry.1 }
        throw TrainingError.invalidConfig("no published \(bf16 ? "bf16" : "float32") peak for GPU '\(deviceName)'; MFU cannot be computed")
    }

    /// The best of ten timed rounds of 1024 × 1024 float32 products (2·n³ FLOPs each), after half a second of
    /// products to bring the cores to their clock (without it, measurements on a 2-core VM ranged 90–153 GFLOP/s).
    public static func measureGEMM(size n: Int = 1024, products: Int = 4, rounds: Int = 10, warmUpSeconds: Double = 0.5) throws -> Double {
        let generator = try Generator(seed: 0)
        let a = try Tensor.randn([n, n], generator: generator)
        let b = try Tensor.randn([n, n], generator: generator)
        let warmUpEnd = DispatchTime.now().uptimeNanoseconds + UInt64(warmUpSeconds * 1e9)
        repeat { _ = try a.mm(b) } while DispatchTime.now().uptimeNanoseconds < warmUpEnd
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = DispatchTime.now()
            for _ in 0..<products { _ = try a.mm(b) }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
        }
        return 2 * Double(n * n * n) * Double(products) / best
    }

    static func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let name = line.split(separator: ":", maxSplits: 1).last
        else { return "unknown CPU" }
        return name.trimmingCharacters(in: .whitespaces)
    }
}
