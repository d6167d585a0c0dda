import DataFormats

/// `.pbin` files (header, tokens, pickled document index) as training and `data info` open them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPackedData(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "input.pbin")
    if let file = try? PackedDataFile(path: path) {
        for index in 0..<min(file.documents.count, 64) { _ = file.document(index) }
    }
    return 0
}
