/// Every constant of the planner's performance model, in one place, with where each comes from.
///
/// Two kinds: **hardware constants** taken from data sheets (fixed), and **fitted constants** that
/// `modalities benchmark plan_accuracy` fits on the small-GPU-count rows (≤ 16 GPUs) of Modalities' published
/// scaling tables (`docs/scaling_experiments/` of the Modalities repository), leaving the rows with ≥ 64 GPUs to
/// measure the error (BENCHMARKS.md, "Run planner"). The fitted values are *effective* ones: what the tables'
/// small runs imply, not measurements of the network.
public struct ClusterConstants: Sendable, Equatable {
    /// The cluster the constants describe.
    public var name: String
    /// GPUs per node (both calibrated clusters have 4).
    public var gpusPerNode: Int

    // MARK: fitted

    /// The highest fraction of the peak a GPU reaches on large matrix products (fitted).
    public var peakEfficiency: Double
    /// The per-GPU work size at which the efficiency is half of ``peakEfficiency``, in tokens per micro-batch ×
    /// model width per tensor-parallel rank (fitted): efficiency = peak · w / (w + w½).
    public var halfEfficiencyWork: Double
    /// Seconds each step of a ring collective takes between nodes, never hidden behind compute (fitted).
    public var interNodeStepLatency: Double
    /// The share of the compute time behind which the bandwidth part of FSDP's collectives hides (fitted;
    /// prefetching overlaps the next unit's all-gather with this unit's compute).
    public var overlap: Double
    /// Bytes per second one node moves to and from other nodes, effective (fitted).
    public var interNodeBandwidth: Double

    // MARK: hardware (data sheets, not fitted)

    /// Bytes per second a GPU moves to the others of its node in a ring collective (NVLink bus bandwidth:
    /// A100 NVLink 3 and H100 NVLink 4, about two thirds of the one-direction link rate, as nccl-tests report).
    public var intraNodeBandwidth: Double
    /// Seconds each ring step takes inside a node (NVLink, a few microseconds).
    public var intraNodeStepLatency: Double
    /// Bytes a GPU holds beyond tensors: the CUDA context, cuBLAS/NCCL workspaces and the caching allocator's
    /// fragmentation (about 1.5 GB, as `nvidia-smi` shows beside `torch.cuda.max_memory_allocated`).
    public var runtimeOverheadBytes: Double

    public init(
        name: String, gpusPerNode: Int, peakEfficiency: Double, halfEfficiencyWork: Double, interNodeStepLatency: Double,
        overlap: Double, interNodeBandwidth: Double, intraNodeBandwidth: Double, intraNodeStepLatency: Double = 3e-6,
        runtimeOverheadBytes: Double = 1.5e9
    ) {
        self.name = name
        self.gpusPerNode = gpusPerNode
        self.peakEfficiency = peakEfficiency
        self.halfEfficiencyWork = halfEfficiencyWork
        self.interNodeStepLatency = interNodeStepLatency
        self.overlap = overlap
        self.interNodeBandwidth = interNodeBandwidth
        self.intraNodeBandwidth = intraNodeBandwidth
        self.intraNodeStepLatency = intraNodeStepLatency
        self.runtimeOverheadBytes = runtimeOverheadBytes
    }

    /// Leonardo (CINECA): 4 × A100 64 GB per node, NVLink 3, 2 × dual-port HDR100 InfiniBand (400 Gb/s) per node.
    /// Fitted on the 18 rows of `scaling_leonardo.md` with at most 16 GPUs. Those rows show no latency growth from 8 to
    /// 16 GPUs, so the fitted step latency is 0 (3·10⁻¹³ s): the planner does not foresee the collapse the table shows
    /// for FULL_SHARD at MBS 1 beyond 64 A100s — the held-out error says so.
    public static let leonardo = ClusterConstants(
        name: "Leonardo (A100)", gpusPerNode: 4, peakEfficiency: 0.691, halfEfficiencyWork: 2.996e6,
        interNodeStepLatency: 0, overlap: 1, interNodeBandwidth: 120.5e9, intraNodeBandwidth: 200e9)

    /// MareNostrum 5 ACC (BSC): 4 × H100 64 GB per node, NVLink 4, 4 × NDR200 InfiniBand (800 Gb/s) per node.
    /// Fitted on the 35 rows of `scaling_mn5.md` with at most 16 GPUs. Its bandwidth is far above the links' rate:
    /// at ≤ 16 GPUs the transfers hide behind compute, so only a lower bound is identified.
    public static let mareNostrum5 = ClusterConstants(
        name: "MareNostrum 5 (H100)", gpusPerNode: 4, peakEfficiency: 0.4361, halfEfficiencyWork: 7.466e6,
        interNodeStepLatency: 7.484e-6, overlap: 0.1529, interNodeBandwidth: 1.026e12, intraNodeBandwidth: 300e9)

    /// The fitted constants as a vector (the calibration's parameters), in the order of ``fitted(_:)``.
    var fittedValues: [Double] { [peakEfficiency, halfEfficiencyWork, interNodeStepLatency, overlap, interNodeBandwidth] }

    /// These constants with the fitted ones replaced.
    func fitted(_ values: [Double]) -> ClusterConstants {
        var copy = self
        (copy.peakEfficiency, copy.halfEfficiencyWork, copy.interNodeStepLatency) = (values[0], values[1], values[2])
        (copy.overlap, copy.interNodeBandwidth) = (values[3], values[4])
        return copy
    }
}
