import Ablations
import Foundation
import TestSupport
import Testing

/// A 2 × 2 sweep (peak learning rate × depth) of a tiny model prepared, run, interrupted, run again, and reported.
@Suite(.serialized) struct SweepRunnerTests {
    static let sweepFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Configs/tiny_sweep.yaml")
        .path

    var binary: String {
        get throws {
            guard let binary = TestData.modalitiesBinary else {
                throw SweepError.invalid(
                    CommandLine.arguments[0], "the modalities binary is not built next to the tests (run `swift build --build-tests`)")
            }
            return binary
        }
    }

    func start(_ arguments: [String], output: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary)
        process.arguments = arguments
        #expect(FileManager.default.createFile(atPath: output, contents: nil), "cannot create \(output)")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        var environment = ProcessInfo.processInfo.environment
        environment["MODALITIES_TEST_DATA"] = TestData.folder
        process.environment = environment
        try process.run()
        return process
    }

    func run(_ arguments: [String], in folder: String) throws -> String {
        let log = folder + "/command-\(UUID().uuidString).log"
        let process = try start(arguments, output: log)
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "\(arguments.prefix(3)): \(output.suffix(3000))")
        return output
    }

    func trainSteps(_ results: String) -> [Int] {
        ((try? String(contentsOfFile: results, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                record["dataloader_tag"] as? String == "train"
            else { return nil }
            return record["num_train_steps_done"] as? Int
        }
    }

    func status(_ folder: String) -> [String: Any] {
        (FileManager.default.contents(atPath: folder + "/sweep_status.json")
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }) ?? [:]
    }

    @Test func aKilledRunnerFinishesTheRestWithoutRedoingFinishedRunsAndTheReportRenders() throws {
        let root = NSTemporaryDirectory() + "sweep-run-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try run(
            [
                "benchmark", "prepare_sweep_configs", "--sweep_config_path", Self.sweepFile, "--output_dir", root + "/configs",
                "--world_sizes", "1",
            ], in: root)
        let names = ["lr-1e-3__n_layer-1", "lr-1e-3__n_layer-2", "lr-3e-3__n_layer-1", "lr-3e-3__n_layer-2"]
        let runs = names.map { root + "/runs/1/" + $0 }
        let command = ["sweep", "run", root + "/configs/tiny_sweep", "--experiments_root_path", root + "/runs"]

        // Stop the runner (SIGTERM, as `kill` or a batch system's time limit sends) while the second run is past its
        // first checkpoint: it stops that run too.
        let first = try start(command, output: root + "/runner-1.log")
        let deadline = Date().addingTimeInterval(600)
        let firstCheckpoint =
            root
            + "/runs/1/checkpoints/eid_lr-1e-3__n_layer-2-seen_steps_4-seen_tokens_512-target_steps_16-target_tokens_2048/metadata.json"
        while Date() < deadline, first.isRunning, !FileManager.default.fileExists(atPath: firstCheckpoint) { usleep(10_000) }
        #expect(first.isRunning, "the runner finished before it could be killed")
        first.terminate()
        first.waitUntilExit()
        #expect(first.terminationStatus == 130)
        #expect(status(runs[0])["state"] as? String == "done")
        #expect(status(runs[1])["state"] as? String == "interrupted")
        #expect(status(runs[2])["state"] == nil, "not started")
        let finishedBefore = try String(contentsOfFile: runs[0] + "/sweep_status.json", encoding: .utf8)

        // Again, two at a time: the finished run is left alone, the interrupted one continues from its checkpoint,
        // the rest run.
        let output = try run(command + ["--parallel", "2"], in: root)
        #expect(output.contains("3 completed, 1 already done, 0 failed"), "\(output)")
        #expect(try String(contentsOfFile: runs[0] + "/sweep_status.json", encoding: .utf8) == finishedBefore)
        let resumed = status(runs[1])
        #expect(resumed["attempts"] as? Int == 2)
        #expect((resumed["resumed_from"] as? String)?.contains("eid_lr-1e-3__n_layer-2-seen_steps_") == true)
        for run in runs {
            #expect(status(run)["state"] as? String == "done", "\(run)")
            #expect(trainSteps(run + "/evaluation_results.jsonl") == Array(1...16), "\(run): each step logged once")
        }
        // A third start has nothing to do.
        #expect(try run(command, in: root).contains("0 completed, 4 already done"))

        // The report: one curve per run in each plot, and the config keys that make the ablation.
        let report = root + "/report.html"
        _ = try run(["report", root + "/runs", "--output", report], in: root)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(!html.contains("<script"), "self-contained, no scripts")
        #expect(html.components(separatedBy: "<svg").count - 1 >= 7, "train/eval loss over steps and tokens, lr, throughput, MFU")
        for key in ["sweep.lr", "sweep.n_layer", "lr_scheduler.config.max_lr", "model_raw.config.n_layer"] {
            #expect(html.contains("<th>\(key)</th>"), "\(key) is an ablation axis")
        }
        #expect(!html.contains("<th>settings.experiment_id</th>"), "run ids are not an axis")
        #expect(html.components(separatedBy: "class=\"curve\" data-run=\"1/lr-3e-3__n_layer-2\"").count - 1 >= 7)

        // --plan_gpu: the planner's tokens/s for each run (from its resolved config) beside the measured mean.
        _ = try run(["report", root + "/runs", "--output", report, "--plan_gpu", "a100"], in: root)
        let planned = try String(contentsOfFile: report, encoding: .utf8)
        #expect(planned.contains("<th>mean tokens/s</th><th>predicted tokens/s</th>"))
        let numberCells = { (page: String) in page.components(separatedBy: "<td class=\"number\">").count - 1 }
        #expect(numberCells(planned) - numberCells(html) == 4, "one prediction per run")
    }

    /// `--stop_after_steps` tries a sweep out: every run ends after that many steps and counts as done for such
    /// tries, and a sweep run without it takes them on to their targets.
    @Test func aSweepTriedWithAFewStepsPerRunGoesOnToTheTargetsLater() throws {
        let root = NSTemporaryDirectory() + "sweep-try-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // --plan_gpu: each prepared config with its predicted cost (`modalities plan`), the world size as GPU count.
        let prepared = try run(
            [
                "benchmark", "prepare_sweep_configs", "--sweep_config_path", Self.sweepFile, "--output_dir", root + "/configs",
                "--world_sizes", "1", "--plan_gpu", "h100",
            ], in: root)
        #expect(prepared.components(separatedBy: "predicted on 1 H100: step ").count - 1 == 4, "\(prepared)")
        let command = ["sweep", "run", root + "/configs/tiny_sweep", "--experiments_root_path", root + "/runs"]
        #expect(try run(command + ["--stop_after_steps", "4"], in: root).contains("4 completed, 0 already done"))
        let run = root + "/runs/1/lr-1e-3__n_layer-1"
        #expect(status(run)["stopped_after_steps"] as? Int == 4)
        #expect(trainSteps(run + "/evaluation_results.jsonl") == Array(1...4))
        #expect(try self.run(command + ["--stop_after_steps", "4"], in: root).contains("0 completed, 4 already done"))
        // Without the limit: each continues from its step-4 checkpoint to step 16.
        #expect(try self.run(command, in: root).contains("4 completed, 0 already done"))
        #expect(status(run)["stopped_after_steps"] == nil && status(run)["state"] as? String == "done")
        #expect(trainSteps(run + "/evaluation_results.jsonl") == Array(1...16))
    }

    @Test(
        .enabled(
            if: Chromium.find(environment: ProcessInfo.processInfo.environment) != nil,
            "needs chromium (scripts/setup-test-tools installs it)"))
    func theReportOpensInChromiumAndEveryRunHasACurve() throws {
        let root = NSTemporaryDirectory() + "report-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Four runs with known losses, written as the trainer writes them.
        for (index, name) in ["a", "b", "c", "d"].enumerated() {
            let folder = root + "/runs/" + name
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let lines = (1...20).map { step -> String in
                let loss = 10 - Double(index + 1) * log(Double(step))
                return
                    "{\"dataloader_tag\": \"train\", \"num_train_steps_done\": \(step), \"losses\": {\"train loss avg\": \(loss)}, \"metrics\": {\"consumed tokens\": \(step * 512)}, \"throughput_metrics\": {\"lr mean\": 0.001, \"train tokens/s\": \(1000 + 100 * index), \"train mfu (16-bit)\": 0.1}}"
            }
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: folder + "/evaluation_results.jsonl", atomically: true, encoding: .utf8)
            try "sweep:\n  lr: \(index)\n".write(toFile: folder + "/config.yaml.resolved", atomically: true, encoding: .utf8)
        }
        let report = try ExperimentReport(root: root + "/runs")
        try report.write(to: root + "/report.html")
        let chromium = try #require(Chromium.find(environment: ProcessInfo.processInfo.environment))

        // The whole page renders (not blank).
        try chromium.screenshot(of: root + "/report.html", to: root + "/page.png", width: 1280, height: 1600)
        let page = try PNGImage(path: root + "/page.png")
        #expect(page.width == 1280 && page.height == 1600)
        #expect(page.inkFraction > 0.02, "the page is blank")

        // Each plot as its own image: every run's colour draws a curve (far more pixels than its legend mark).
        let images = try report.exportPNGs(to: root + "/png", chromium: chromium.executable)
        let lossPlot = try #require(images.first { $0.hasSuffix("/train_loss_steps.png") })
        let image = try PNGImage(path: lossPlot)
        #expect(image.inkFraction > 0.02)
        for (name, color) in report.colors.sorted(by: { $0.key < $1.key }) {
            #expect(image.count(of: color) > 300, "run \(name) (\(color)) has no curve: \(image.count(of: color)) pixels")
        }
    }
}
