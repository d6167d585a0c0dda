import Foundation
import Interop
import Torch

/// The torch.save reader behind Modalities' FSDP1 `.bin` checkpoints: the ZIP archive (entries, CRC-32s), the
/// restricted pickle of the state dict and the tensors it rebuilds from the storages.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchSave(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard let checkpoint = try? TorchCheckpoint(data: bytes, label: "fuzz input") else { return 0 }
    for (_, tensor) in checkpoint.tensors.sorted(by: { $0.key < $1.key }) { _ = try? tensor.sum().item(Double.self) }
    return 0
}

/// With FUZZ_WRITE_SEED=<path> the target writes a seed archive as our FSDP1 writer does (a state dict with an
/// optimizer-like nesting of tensors and numbers) and exits: PyTorch is not needed to make the corpus.
@_cdecl("LLVMFuzzerInitialize")
public func writeSeedIfAsked(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
)
    -> CInt
{
    guard let path = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEED"] else { return 0 }
    do {
        let weight = try Tensor([0.5, -1, 2, 0.25, 3.5, -0.125] as [Float], shape: [2, 3])
        let step = try Tensor(scalar: Float(16))
        let state: TorchCheckpointWriter.Value = .dict(
            [
                ("transformer.wte.weight", .tensor(weight)),
                (
                    "state",
                    .dict(
                        [("0", .dict([("step", .tensor(step)), ("exp_avg", .tensor(try weight * 0.1))], ordered: false))], ordered: false)
                ),
                ("param_groups", .list([.dict([("lr", .double(3e-4)), ("params", .list([.int(0)]))], ordered: false)])),
            ], ordered: true)
        try TorchCheckpointWriter.write(state, to: path)
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("cannot write the seed: \(error)\n".utf8))
        exit(1)
    }
}
