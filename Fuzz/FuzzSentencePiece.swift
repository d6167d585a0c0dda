import Tokenizers

/// SentencePiece `.model` files (protobuf), loaded and used once.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSentencePiece(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "tokenizer.model")
    if let tokenizer = try? SentencePieceTokenizer(path: path) {
        let ids = tokenizer.encode("Hello world! ünïcödé 123")
        _ = tokenizer.decode(ids)
    }
    return 0
}
