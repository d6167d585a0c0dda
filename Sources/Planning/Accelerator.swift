/// The GPUs `modalities plan` knows: their published dense bf16 peak and memory, and the calibrated cluster
/// whose constants stand for them (``ClusterConstants``).
public enum Accelerator: String, Sendable, CaseIterable {
    case a100, h100, h200, b200

    /// Dense bf16 FLOP/s without sparsity (NVIDIA's data sheets; the values `mfu_calculator/gpt2` uses).
    public var peakFlopsPerSecond: Double {
        switch self {
        case .a100: return 312e12
        case .h100, .h200: return 989e12
        case .b200: return 2250e12
        }
    }

    /// Memory of one GPU in bytes: A100 and H100 as Leonardo and MareNostrum 5 have them (64 GB HBM2e/HBM2),
    /// H200 141 GB, B200 180 GB (the SXM parts' data sheets). `--gpu_memory_gib` overrides it.
    public var memoryBytes: Double {
        switch self {
        case .a100, .h100: return 64e9
        case .h200: return 141e9
        case .b200: return 180e9
        }
    }

    /// The measured cluster whose constants this GPU is planned with.
    public var cluster: ClusterConstants {
        switch self {
        case .a100: return .leonardo
        case .h100, .h200, .b200: return .mareNostrum5
        }
    }

    /// Whether the constants were fitted on this GPU (false: carried over from the H100 cluster, scaled by peak).
    public var isCalibrated: Bool { self == .a100 || self == .h100 }
}
