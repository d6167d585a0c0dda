import Tokenizers

/// tiktoken rank files (base64 token, rank per line), loaded and used once.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTiktoken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "ranks.tiktoken")
    if let tokenizer = try? TiktokenLoader.load(path: path, pattern: .gpt2) {
        let ids = tokenizer.encode("Hello world! ünïcödé 123")
        _ = tokenizer.decode(ids)
    }
    return 0
}
