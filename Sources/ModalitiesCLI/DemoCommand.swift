import ArgumentParser
import Foundation
import Launcher
import Logging

/// `modalities demo`: the built-in end-to-end run (tokenizer, data, training, sample) on text every
/// Debian/Ubuntu machine has.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Train a small GPT end to end on /usr/share/common-licenses: tokenizer, packing, training with evaluation and checkpoints, a generated sample."
    )

    @Option(name: .customLong("output"), help: "Folder for everything the demo makes (replaced if it exists).")
    var output = "demo-run"

    @Option(name: .customLong("corpus"), help: "Folder of text files to learn from.")
    var corpus = "/usr/share/common-licenses"

    @Option(help: "Times the training text is repeated.")
    var epochs = 8

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        if FileManager.default.fileExists(atPath: output) {
            try FileManager.default.removeItem(atPath: output)
        }
        logging.bootstrap()
        var options = Demo.Options(outputFolder: output, logger: Logger(label: "modalities.demo"))
        options.corpusFolder = corpus
        options.epochs = epochs
        let start = Date()
        do {
            let report = try Demo(options: options).run()
            let root = URL(fileURLWithPath: output).standardizedFileURL.path
            print(
                """
                Demo finished in \(String(format: "%.0f", Date().timeIntervalSince(start))) s: train loss \(String(format: "%.2f", report.firstLoss)) -> \(String(format: "%.2f", report.lastLoss)) over \(report.summary.progress.numSeenStepsTotal) steps
                  corpus and packed data: \(root)/data
                  tokenizer:              \(root)/tokenizer/tokenizer.json
                  training config:        \(root)/demo.yaml
                  metrics:                \(report.summary.experimentFolder)/evaluation_results.jsonl
                  last checkpoint:        \(report.checkpoint)
                  report (open in a browser): \(report.htmlReport)
                Generate more with:
                  modalities generate_text --model \(report.checkpoint) --tokenizer \(root)/tokenizer/tokenizer.json --prompt "The Licensor" --temperature 0.8 --top_k 40
                """)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
