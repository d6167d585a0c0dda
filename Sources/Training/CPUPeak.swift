/// A CPU's peak float32 throughput for MFU and the figures it comes from.
///
/// The peak has to bound what the training step can reach, or MFU exceeds 1. A measured GEMM does not: a short
/// 1024³ benchmark on a VM whose neighbours come and go measured 53 GFLOP/s on a CPU where the step's own GEMMs then
/// ran faster (MFU 1.02). The theoretical peak does: every core at the clock measured on one core (a single busy core
/// clocks at least as high as all of them), each retiring the most float32 FLOPs per cycle its vector units allow
/// (counting two FMA pipes, the most an x86 core has, and hyperthreads as cores, both of which only raise it). The
/// peak is the higher of the two, so it stays a bound where the theoretical figure is unknown (not x86) or the clock
/// measurement was unlucky.
public struct CPUPeak: Sendable, Equatable, Codable {
    /// Cores the step runs on: libtorch's threads, at most the CPUs this process may use.
    public var cores: Int
    /// One core's clock in Hz, measured; nil where it cannot be (not x86-64).
    public var clockHertz: Double?
    /// Float32 FLOPs per cycle and core from CPUID; nil where unknown.
    public var flopsPerCycle: Int?
    /// The best float32 GEMM measured with the BLAS in use, in FLOP/s.
    public var measuredGEMM: Double

    public init(cores: Int, clockHertz: Double?, flopsPerCycle: Int?, measuredGEMM: Double) {
        self.cores = cores
        self.clockHertz = clockHertz
        self.flopsPerCycle = flopsPerCycle
        self.measuredGEMM = measuredGEMM
    }

    /// cores × clock × FLOPs per cycle, when both are known.
    public var theoretical: Double? {
        guard let clockHertz, let flopsPerCycle else { return nil }
        return Double(cores) * clockHertz * Double(flopsPerCycle)
    }

    /// The peak: the higher of the theoretical figure and the measured GEMM.
    public var flopsPerSecond: Double { Swift.max(theoretical ?? 0, measuredGEMM) }

    /// Which figure the peak is: "theoretical" or "measured GEMM".
    public var source: String { (theoretical ?? 0) >= measuredGEMM ? "theoretical" : "measured GEMM" }
}
