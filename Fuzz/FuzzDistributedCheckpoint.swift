import Foundation
import Interop
import Torch

/// The PyTorch distributed-checkpoint reader behind Modalities' DCP folders: the `.metadata` pickle (allow-listed
/// classes, storage entries, chunk offsets and sizes) over a real piece file, and the tensors it assembles. Each
/// input is written as the `.metadata` of a scratch folder that holds the golden test checkpoint's `__0_0.distcp`.
let folder: String = {
    let folder = NSTemporaryDirectory() + "fuzz-dcp-\(getpid())"
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let piece = "Tests/InteropTests/Golden/torch/dcp/__0_0.distcp"
    guard FileManager.default.fileExists(atPath: folder + "/__0_0.distcp") || (try? FileManager.default.copyItem(
        atPath: piece, toPath: folder + "/__0_0.distcp")) != nil
    else { fatalError("run from the repository root: \(piece) is needed") }
    return folder
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDistributedCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard (try? bytes.write(to: URL(fileURLWithPath: folder + "/.metadata"))) != nil else { return 0 }
    guard let checkpoint = try? DistributedCheckpoint(folder: folder) else { return 0 }
    for (_, tensor) in checkpoint.tensors.sorted(by: { $0.key < $1.key }) { _ = try? tensor.sum().item(Double.self) }
    return 0
}
