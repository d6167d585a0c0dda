import Tokenizers

/// Hugging Face `tokenizer.json` files (byte-level and SentencePiece-style BPE), loaded and used once.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "tokenizer.json")
    if let tokenizer = try? HuggingFaceTokenizerLoader.load(path) {
        let ids = tokenizer.encode("Hello world! <|endoftext|> ünïcödé 123")
        _ = tokenizer.decode(ids)
    }
    return 0
}
