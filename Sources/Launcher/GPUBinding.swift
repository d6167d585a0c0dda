import Foundation

/// Which GPU a rank trains on, decided before any CUDA work (`torch.cuda.set_device(LOCAL_RANK)` in a PyTorch job).
///
/// torchrun and `launch` leave every GPU of the node visible to every rank, so local rank r takes `cuda:r`. A
/// scheduler that gives each task a GPU of its own (SLURM's `--gpus-per-task=1`) sets `CUDA_VISIBLE_DEVICES` to one
/// device, which the rank then sees as `cuda:0` whatever its local rank.
public struct GPUBinding: Sendable, Equatable {
    /// The CUDA device index of the rank.
    public let deviceIndex: Int

    /// Why a rank has no GPU of its own.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case tooFewDevices(localRank: Int, visible: Int)

        public var description: String {
            switch self {
            case .tooFewDevices(let localRank, let visible):
                return "local rank \(localRank) has no GPU of its own: CUDA sees \(visible) device(s)"
                    + (visible == 0 ? "" : ", cuda:0..<\(visible) (run at most \(visible) rank(s) per node on GPUs, or --device cpu)")
            }
        }
    }

    /// The GPU of local rank `localRank` when CUDA sees `visibleDevices` devices and the environment's
    /// `CUDA_VISIBLE_DEVICES` is `visibleDeviceList` (nil when unset).
    public init(localRank: Int, visibleDevices: Int, visibleDeviceList: String?) throws {
        if localRank < visibleDevices {
            deviceIndex = localRank
        } else if visibleDevices == 1, let list = visibleDeviceList,
            list.split(separator: ",").filter({ !$0.trimmingCharacters(in: .whitespaces).isEmpty }).count == 1
        {
            deviceIndex = 0
        } else {
            throw Problem.tooFewDevices(localRank: localRank, visible: visibleDevices)
        }
    }
}
