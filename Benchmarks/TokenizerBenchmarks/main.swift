// Encode throughput of our tokenizers on tiny Shakespeare paragraphs, one thread and all cores.
// `make bench` runs it next to scripts/bench-reference-tokenizers.py (HF tokenizers, tiktoken, sentencepiece).
import Dispatch
import Foundation
import Tokenizers

let data = ProcessInfo.processInfo.environment["MODALITIES_TEST_DATA"] ?? "../shared/data"
let text = try String(contentsOfFile: data + "/corpus/tinyshakespeare.txt", encoding: .utf8)
let documents = text.components(separatedBy: "\n\n")
let megabytes = Double(text.utf8.count) / 1_000_000

/// Seconds of the fastest of three runs (the machine is shared; the minimum is the least disturbed).
func fastest(_ body: () -> Void) -> Double {
    (0..<3).map { _ in
        let start = DispatchTime.now()
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }.min()!
}

func measure(_ name: String, _ tokenizer: any Tokenizer) {
    _ = documents.prefix(200).map(tokenizer.encode)  // warm up
    let tokens = documents.reduce(0) { $0 + tokenizer.encode($1).count }
    let single = fastest { _ = documents.map(tokenizer.encode) }
    let parallel = fastest { _ = tokenizer.encodeBatch(documents) }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print(
        String(
            format: "%-28@ 1 thread: %6.2f MB/s %6.2f M tokens/s | %d threads: %6.2f MB/s", name as NSString,
            megabytes / single, Double(tokens) / single / 1e6, cores, megabytes / parallel))
}

print("tiny Shakespeare, \(documents.count) paragraphs, \(String(format: "%.2f", megabytes)) MB")
measure("gpt2 (tokenizer.json)", try HuggingFaceTokenizerLoader.load(data + "/modalities/tokenizer/hf_gpt2"))
measure("gpt2 (tiktoken ranks)", try TiktokenLoader.load(path: data + "/gpt2/gpt2.tiktoken", pattern: .gpt2))
measure("llama3 (tiktoken ranks)", try TiktokenLoader.load(path: data + "/llama3/tokenizer.model", pattern: .llama3))
measure("llama2 (sentencepiece)", try SentencePieceTokenizer(path: data + "/llama/tokenizer.model"))
measure("mistral (tokenizer.json)", try HuggingFaceTokenizerLoader.load(data + "/mistral/tokenizer.json"))
