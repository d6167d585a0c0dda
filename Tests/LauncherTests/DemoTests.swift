import Foundation
import Launcher
import Logging
import Testing

/// The built-in demo, shrunk (one epoch, a narrow model) so it runs in seconds: every stage runs and the loss falls.
@Suite(.serialized) struct DemoTests {
    @Test func theDemoRunsEndToEnd() throws {
        let folder = NSTemporaryDirectory() + "demo-" + UUID().uuidString
        var options = Demo.Options(outputFolder: folder, logger: silent)
        options.epochs = 1
        options.layers = 1
        options.embedding = 64
        options.heads = 2
        options.vocabularySize = 512
        options.device = .cpu  // also on a machine with a GPU: the CPU path is what this suite checks
        let report = try Demo(options: options).run()
        #expect(report.corpusDocuments > 100)
        #expect(report.lastLoss < report.firstLoss - 1, "\(report.firstLoss) -> \(report.lastLoss)")
        #expect(report.sample.hasPrefix("This License") && report.sample.count > "This License".count)
        let html = try String(contentsOfFile: report.htmlReport, encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("data-run=\"demo\""), "the demo ends with its report")
        for file in ["data/train.jsonl", "data/train.idx", "data/train.pbin", "data/test.pbin", "tokenizer/tokenizer.json", "demo.yaml"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/" + file), "\(file)")
        }
        // The checkpoint rebuilds the trained model from its own metadata.
        let model = try CheckpointedModel.load(folder: report.checkpoint)
        #expect(model.config.layerCount == 1 && model.config.vocabularySize == 512)
    }
}

/// A logger that drops everything.
let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
