import Foundation
import Testing

@testable import Observability

@Suite struct ObservabilityTests {
    let result = EvaluationResult(
        dataloaderTag: "train", numTrainStepsDone: 3,
        losses: [("train loss avg", .number(2.5)), ("train loss last", .number(2.25))],
        metrics: [("consumed tokens", .integer(1536)), ("grad norm avg", .number(0.75))],
        throughputMetrics: [("lr mean", .number(1e-05))])

    func temporaryFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "observability-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func jsonLineHasModalitiesRecordShape() throws {
        #expect(
            result.jsonLine
                == #"{"dataloader_tag": "train", "num_train_steps_done": 3, "losses": {"train loss avg": 2.5, "train loss last": 2.25}, "metrics": {"consumed tokens": 1536, "grad norm avg": 0.75}, "throughput_metrics": {"lr mean": 1e-05}}"#
        )
        #expect(ResultValue.number(2).json == "2.0")
        #expect(ResultValue.number(.nan).json == "NaN")
    }

    @Test func toDiscAppendsOneParsableLinePerResult() throws {
        let path = try temporaryFolder() + "/run/evaluation_results.jsonl"
        let subscriber = try JSONLinesResultSubscriber(path: path)
        try subscriber.consume(result)
        try subscriber.consume(result)
        try subscriber.finish()
        let records = try JSONLinesResultSubscriber.records(at: path)
        #expect(records.count == 2)
        #expect((records[0]["losses"] as? [String: Double])?["train loss last"] == 2.25)
        #expect((records[0]["metrics"] as? [String: Any])?["consumed tokens"] as? Int == 1536)
        // Other ranks write nothing.
        let other = try temporaryFolder() + "/rank1.jsonl"
        try JSONLinesResultSubscriber(path: other, globalRank: 1).consume(result)
        #expect(!FileManager.default.fileExists(atPath: other))
    }

    @Test func unwritableResultPathsAreRefusedNamingThePath() throws {
        let folder = try temporaryFolder()
        let plainFile = folder + "/plain-file"
        #expect(FileManager.default.createFile(atPath: plainFile, contents: nil))
        let cases = [
            (plainFile + "/results.jsonl", "cannot create its folder"),  // the folder would be a file
            (folder, "cannot open it for appending"),  // the path is a folder
            (folder + "/" + String(repeating: "x", count: 300) + ".jsonl", "cannot create it"),  // name too long
        ]
        for (path, reason) in cases {
            let error = #expect(throws: ObservabilityError.self) { try JSONLinesResultSubscriber(path: path) }
            #expect(error?.description.hasPrefix(path + ": cannot write: " + reason) == true, "\(String(describing: error))")
        }
    }

    /// Python's json (Modalities' writer, and ours) writes NaN and Infinity; reading them back must work as in Python.
    @Test func nonFiniteNumbersReadBackAsPythonReadsThem() throws {
        let path = try temporaryFolder() + "/run/evaluation_results.jsonl"
        let subscriber = try JSONLinesResultSubscriber(path: path)
        try subscriber.consume(
            EvaluationResult(
                dataloaderTag: "test", numTrainStepsDone: 4, losses: [("CLMCrossEntropyLoss", .number(.nan))],
                metrics: [("up", .number(.infinity)), ("down", .number(-.infinity))], throughputMetrics: []))
        try subscriber.finish()
        let records = try JSONLinesResultSubscriber.records(at: path)
        #expect((records[0]["losses"] as? [String: Double])?["CLMCrossEntropyLoss"]?.isNaN == true)
        #expect((records[0]["metrics"] as? [String: Double]) == ["up": .infinity, "down": -.infinity])
        // The words inside strings stay text.
        let tricky = JSONLinesResultSubscriber.pythonJSONObject(#"{"NaN": "Infinity \" NaN", "x": [NaN, -Infinity]}"#)
        #expect(tricky?["NaN"] as? String == #"Infinity " NaN"#)
        #expect((tricky?["x"] as? [Double])?.last == -.infinity)
    }

    @Test func wandbOfflineWritesEveryValueAndTheConfig() throws {
        let folder = try temporaryFolder()
        let config = folder + "/config.yaml"
        try "settings: {}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let subscriber = try WandbOfflineSubscriber(
            project: "p", experimentID: "exp1", mode: .OFFLINE, directory: folder + "/wandb_storage",
            configFilePath: config, globalRank: 0)
        try subscriber.consume(result)
        try subscriber.finish()
        let run = try #require(subscriber.runFolder)
        #expect(try String(contentsOfFile: run + "/files/config.yaml", encoding: .utf8) == "settings: {}\n")
        let history = try JSONLinesResultSubscriber.records(at: run + "/files/wandb-history.jsonl")
        #expect(history.count == 1 && history[0]["_step"] as? Int == 3)
        #expect(history[0]["train train loss avg"] as? Double == 2.5 && history[0]["train lr mean"] as? Double == 1e-5)
        #expect(history[0].count == 1 + 5)
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/files/wandb-summary.json")))
            as? [String: Any]
        #expect(summary?["train consumed tokens"] as? Int == 1536)

        #expect(throws: ObservabilityError.self) {
            try WandbOfflineSubscriber(
                project: "p", experimentID: "e", mode: .ONLINE, directory: folder, configFilePath: config, globalRank: 0)
        }
        let disabled = try WandbOfflineSubscriber(
            project: "p", experimentID: "e", mode: .DISABLED, directory: folder + "/off", configFilePath: config, globalRank: 0)
        #expect(disabled.runFolder == nil && !FileManager.default.fileExists(atPath: folder + "/off"))
    }

    @Test func mfuFollowsModalitiesFormula() {
        let calculator = GPT2MFUCalculator(
            parameterCount: 1_000_000, layerCount: 2, sequenceLength: 256, embeddingSize: 128, worldSize: 2,
            peakFlopsPerDevice: 989e12)
        #expect(calculator.flopsPerToken == 6 * 1_000_000 + 12 * 2 * 256 * 128)
        #expect(Swift.abs(calculator.mfu(samplesPerSecond: 1000) - 1000 * 256 * calculator.flopsPerToken / (2 * 989e12)) < 1e-15)
        #expect(GPT2MFUCalculator.peakFlops(deviceName: "NVIDIA H100 80GB HBM3") == 989e12)
        #expect(
            GPT2MFUCalculator(parameterCount: 1, layerCount: 1, sequenceLength: 1, embeddingSize: 1, worldSize: 1, peakFlopsPerDevice: nil)
                .mfu(samplesPerSecond: 5) == -1)
    }

    /// Without a peak, MFU is not computed: the record keeps Modalities' -1.0, the console line leaves it out, and a
    /// computed MFU shows on the console under the precision the run computes in.
    @Test func anMFUThatWasNotComputedIsNotPrintedAsANumber() {
        let missing = GPT2MFUCalculator(
            parameterCount: 1, layerCount: 1, sequenceLength: 1, embeddingSize: 1, worldSize: 1, peakFlopsPerDevice: nil)
        var result = EvaluationResult(
            dataloaderTag: "train", numTrainStepsDone: 2, losses: [("train loss avg", .number(2.5))],
            throughputMetrics: [("train mfu (16-bit)", missing.mfuResult(samplesPerSecond: 5)), ("lr mean", .number(1e-3))])
        result.consoleNames = ["train mfu (16-bit)": "train mfu (fp32)"]
        #expect(result.jsonLine.contains(#""train mfu (16-bit)": -1.0"#))
        #expect(!result.summary.contains("mfu") && !result.summary.contains("-1"), "\(result.summary)")
        // 18 FLOPs per token (6·1 + 12·1·1·1), 5 tokens per second, a peak of 180 FLOP/s.
        let known = GPT2MFUCalculator(
            parameterCount: 1, layerCount: 1, sequenceLength: 1, embeddingSize: 1, worldSize: 1, peakFlopsPerDevice: 180)
        result.throughputMetrics[0].1 = known.mfuResult(samplesPerSecond: 5)
        #expect(
            result.summary.contains("train mfu (fp32): 0.5") && result.jsonLine.contains(#""train mfu (16-bit)": 0.5"#), "\(result.summary)"
        )
    }

    @Test func plainProgressLinesComeEveryTenthOfTheWay() {
        var lines: [String] = []
        let progress = ConsoleProgressSubscriber(globalRank: 0, numSeenSteps: 0, numTargetSteps: 100, isTerminal: false) {
            lines.append($0)
        }
        for step in 1...100 { progress.consume(ProgressUpdate(stepsDone: step, status: .train, dataloaderTag: "train")) }
        #expect(lines.count == 10 && lines.last == "train: 100/100 steps\n")
    }
}

@Suite struct TensorBoardTests {
    @Test func eventFilesAreByteForByteWhatTensorBoardWrites() throws {
        let folder = NSTemporaryDirectory() + "tensorboard-" + UUID().uuidString
        let writer = try TensorBoardWriter(directory: folder, now: Date(timeIntervalSince1970: 1_700_000_000))
        for step in 1...3 {
            writer.add(
                scalars: [("train/train loss avg", 10.0 / Double(step)), ("train/consumed tokens", 512.0 * Double(step))], step: step,
                wallTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(step)))
        }
        try writer.flush()
        // Written by scripts/make-tensorboard-golden.py with TensorBoard's own Event protobufs and RecordWriter.
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/events.out.tfevents.golden")
        #expect(try Data(contentsOf: URL(fileURLWithPath: writer.path)) == Data(contentsOf: golden))
        #expect(URL(fileURLWithPath: writer.path).lastPathComponent.hasPrefix("events.out.tfevents.1700000000."))

        let scalars = try TensorBoardWriter.readScalars(at: golden.path)
        #expect(scalars["train/train loss avg"]?.map(\.step) == [1, 2, 3])
        #expect(scalars["train/consumed tokens"]?.map(\.value) == [512, 1024, 1536])
    }

    @Test func resultsBecomeScalarsByLoaderTagAndName() throws {
        let folder = NSTemporaryDirectory() + "tensorboard-" + UUID().uuidString
        let subscriber = try TensorBoardResultSubscriber(directory: folder, globalRank: 0)
        try subscriber.consume(
            EvaluationResult(dataloaderTag: "test", numTrainStepsDone: 8, losses: [("CLMCrossEntropyLoss", .number(2.5))]))
        try subscriber.finish()
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first)
        let scalars = try TensorBoardWriter.readScalars(at: folder + "/" + file)
        #expect(scalars["test/CLMCrossEntropyLoss"]?.first?.step == 8 && scalars["test/CLMCrossEntropyLoss"]?.first?.value == 2.5)
        // A corrupted byte fails the checksum.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)))
        bytes[bytes.count - 6] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + file))
        #expect(throws: ObservabilityError.self) { try TensorBoardWriter.readScalars(at: folder + "/" + file) }
    }
}
