// Tokenize+pack throughput with all cores (GPT-2 on lorem ipsum JSONL repeated to the sizes below), and peak
// resident memory, which should stay flat as the input grows. `make bench` runs it.
import DataFormats
import Dispatch
import Foundation
import Tokenizers

let data = ProcessInfo.processInfo.environment["MODALITIES_TEST_DATA"] ?? "../shared/data"
let source = try Data(contentsOf: URL(fileURLWithPath: data + "/modalities/lorem_ipsum_long.jsonl"))
let tokenizer = try HuggingFaceTokenizerLoader.load(data + "/modalities/tokenizer/hf_gpt2")
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pack-bench-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }

/// Peak resident set size in MB (VmHWM).
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1024
}

let cores = ProcessInfo.processInfo.activeProcessorCount
print("pack_encoded_data, GPT-2, \(cores) workers")
for copies in (CommandLine.arguments.count > 1 ? CommandLine.arguments.dropFirst().compactMap { Int($0) } : [50, 200]) {
    let jsonl = folder.appendingPathComponent("input-\(copies).jsonl").path
    guard FileManager.default.createFile(atPath: jsonl, contents: nil) else { fatalError("cannot create \(jsonl)") }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: jsonl))
    for _ in 0..<copies {
        try handle.write(contentsOf: source)
        if source.last != UInt8(ascii: "\n") { try handle.write(contentsOf: Data("\n".utf8)) }
    }
    try handle.close()
    let megabytes = Double(source.count * copies) / 1e6
    let packer = Packer(
        tokenizer: tokenizer, endOfDocumentID: 50256, jsonPath: JSONPath(".text")!, workers: cores, batchSize: 10 * cores * 8)
    let start = DispatchTime.now()
    let report = try packer.pack(source: jsonl, destination: jsonl + ".pbin")
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    print(
        String(
            format: "%7.1f MB JSONL: %6.2f MB/s, %5.2f M tokens/s, %d documents, peak RSS so far %.0f MB",
            megabytes, megabytes / seconds, Double(report.tokens) / seconds / 1e6, report.documents, peakResidentMegabytes()))
    try FileManager.default.removeItem(atPath: jsonl)
    try FileManager.default.removeItem(atPath: jsonl + ".pbin")
}
