import Interop
import Torch

/// The safetensors reader behind checkpoint shards and Hugging Face weights: the header's JSON, dtypes, shapes and
/// offsets, the recorded checksums, and every tensor made from the file's bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "input.safetensors")
    guard let file = try? SafeTensorsFile(path: path) else { return 0 }
    _ = try? file.verifyChecksums()
    for name in file.entries.keys.sorted() { _ = try? file.tensor(name) }
    return 0
}
