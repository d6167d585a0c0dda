import DataFormats

/// The restricted pickle decoder behind `.idx` files, `.pbin` indexes and torch.save archives.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    _ = try? Pickle.decode(bytes)
    _ = try? Pickle.decode(bytes, allowedGlobals: ["torch._utils._rebuild_tensor_v2", "collections.OrderedDict", "torch.FloatStorage"])
    return 0
}
