import DataFormats

/// `create_raw_index` over a JSONL file, and reading an `.idx` file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONLIndex(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "input.jsonl")
    _ = try? RawIndex.build(jsonl: path)
    _ = try? RawIndex.read(path)
    return 0
}
