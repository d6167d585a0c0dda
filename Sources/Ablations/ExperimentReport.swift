import Foundation

/// One self-contained HTML page comparing the runs of an experiments folder (`modalities report`): SVG plots of
/// train and evaluation loss against steps and tokens, learning rate, throughput and MFU, a table of final
/// metrics, and for each run the config keys in which the runs differ (the ablation axes). No scripts, no
/// network: it opens from disk anywhere.
public struct ExperimentReport {
    public var title: String
    public var runs: [ExperimentRun]

    public init(title: String, runs: [ExperimentRun]) {
        self.title = title
        self.runs = runs
    }

    /// Loads every run under `root`.
    public init(root: String) throws {
        let runs = try ExperimentRun.load(root: root)
        guard !runs.isEmpty else { throw SweepError.invalid(root, "holds no runs (no evaluation_results.jsonl below it)") }
        self.init(title: "Runs in " + URL(fileURLWithPath: root).standardizedFileURL.path, runs: runs)
    }

    /// Each run's curve colour, in run order.
    public var colors: [String: String] {
        Dictionary(uniqueKeysWithValues: runs.enumerated().map { ($1.name, LineChart.palette[$0 % LineChart.palette.count]) })
    }

    /// The plots, by a file-friendly name.
    var charts: [(name: String, chart: LineChart)] {
        let colors = colors
        func chart(
            _ title: String, x: String, y: String, log: Bool = false,
            _ points: (ExperimentRun) -> [(x: Double, y: Double)]
        ) -> LineChart {
            LineChart(
                title: title, xLabel: x, yLabel: y,
                series: runs.map { LineChart.Series(label: $0.name, color: colors[$0.name]!, points: points($0)) }, logarithmicY: log)
        }
        var charts: [(String, LineChart)] = [
            (
                "train_loss_steps",
                chart("Train loss", x: "step", y: "loss") { $0.train.compactMap { p in p.loss.map { (Double(p.step), $0) } } }
            ),
            (
                "train_loss_tokens",
                chart("Train loss", x: "tokens", y: "loss") {
                    $0.train.compactMap { p in p.tokens.flatMap { t in p.loss.map { (t, $0) } } }
                }
            ),
        ]
        let evaluationNames = Set(runs.flatMap(\.evaluations.keys)).sorted()
        for name in evaluationNames {
            let slug = name.map { $0.isLetter || $0.isNumber ? $0 : "_" }
            charts.append(
                (
                    "eval_\(String(slug))_steps",
                    chart("Evaluation: \(name)", x: "step", y: "loss") {
                        ($0.evaluations[name] ?? []).map { (Double($0.step), $0.loss) }
                    }
                ))
            charts.append(
                (
                    "eval_\(String(slug))_tokens",
                    chart("Evaluation: \(name)", x: "tokens", y: "loss") {
                        ($0.evaluations[name] ?? []).compactMap { p in p.tokens.map { ($0, p.loss) } }
                    }
                ))
        }
        charts.append(
            (
                "learning_rate",
                chart("Learning rate", x: "step", y: "lr") { $0.train.compactMap { p in p.learningRate.map { (Double(p.step), $0) } } }
            ))
        charts.append(
            (
                "throughput",
                chart("Throughput", x: "step", y: "tokens/s") {
                    $0.train.compactMap { p in p.tokensPerSecond.map { (Double(p.step), $0) } }
                }
            ))
        charts.append(
            (
                "mfu",
                chart("Model FLOPs utilisation", x: "step", y: "MFU") {
                    $0.train.compactMap { p in p.mfu.flatMap { $0 >= 0 ? (Double(p.step), $0) : nil } }
                }
            ))
        return charts.filter { !$0.1.isEmpty }
    }

    public func html() -> String {
        let colors = colors
        let differing = ExperimentRun.differingKeys(runs)
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; }
            .charts { display: flex; flex-wrap: wrap; gap: 12px; }
            table { border-collapse: collapse; margin: 12px 0 24px; font-size: 13px; }
            th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
            td.number { text-align: right; font-variant-numeric: tabular-nums; }
            .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: middle; }
            </style></head><body>
            <h1>\(escape(title))</h1>
            <p>\(runs.count) run\(runs.count == 1 ? "" : "s"), written \(escape(ISO8601DateFormatter().string(from: Date()))) by modalities report.</p>

            """
        page += "<h2>Runs</h2><table><tr><th>run</th><th>steps</th><th>tokens</th><th>final train loss</th>"
        let evaluationNames = Set(runs.flatMap(\.evaluations.keys)).sorted()
        for name in evaluationNames { page += "<th>final \(escape(name))</th>" }
        let predicted = runs.contains { $0.predictedTokensPerSecond != nil }
        page += "<th>mean tokens/s</th>" + (predicted ? "<th>predicted tokens/s</th>" : "") + "<th>mean MFU</th></tr>\n"
        func cell(_ value: Double?, _ format: String = "%.4f") -> String {
            "<td class=\"number\">\(value.map { String(format: format, $0) } ?? "")</td>"
        }
        for run in runs {
            let last = run.train.last
            let throughput = run.train.compactMap(\.tokensPerSecond)
            let mfu = run.train.compactMap(\.mfu).filter { $0 >= 0 }
            page += "<tr><td><span class=\"swatch\" style=\"background:\(colors[run.name]!)\"></span>\(escape(run.name))</td>"
            page += cell(last.map { Double($0.step) }, "%.0f") + cell(last?.tokens, "%.0f") + cell(last?.loss)
            for name in evaluationNames { page += cell(run.evaluations[name]?.last?.loss) }
            page += cell(throughput.isEmpty ? nil : throughput.reduce(0, +) / Double(throughput.count), "%.1f")
            if predicted { page += cell(run.predictedTokensPerSecond, "%.1f") }
            page += cell(mfu.isEmpty ? nil : mfu.reduce(0, +) / Double(mfu.count), "%.5f") + "</tr>\n"
        }
        page += "</table>\n<h2>Plots</h2><div class=\"charts\">\n"
        for (_, chart) in charts { page += chart.svg() + "\n" }
        page += "</div>\n<h2>Where the configs differ</h2>\n"
        if differing.isEmpty {
            page +=
                "<p>\(runs.count > 1 ? "The resolved configs do not differ (or none was found)." : "One run: nothing to compare.")</p>\n"
        } else {
            page += "<table><tr><th>run</th>" + differing.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            for run in runs {
                page += "<tr><td><span class=\"swatch\" style=\"background:\(colors[run.name]!)\"></span>\(escape(run.name))</td>"
                page += differing.map { "<td>\(escape(run.config[$0] ?? "—"))</td>" }.joined() + "</tr>\n"
            }
            page += "</table>\n"
        }
        return page + "</body></html>\n"
    }

    /// Writes the page (atomically).
    public func write(to path: String) throws {
        try html().write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Renders every plot to `<folder>/<plot>.png` with headless Chromium; returns the files written.
    public func exportPNGs(to folder: String, chromium: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        for (name, chart) in charts {
            let svgPath = folder + "/" + name + ".svg"
            try chart.svg().write(toFile: svgPath, atomically: true, encoding: .utf8)
            let png = folder + "/" + name + ".png"
            try Chromium(executable: chromium).screenshot(of: svgPath, to: png, width: Int(chart.width), height: Int(chart.totalHeight))
            try? FileManager.default.removeItem(atPath: svgPath)
            written.append(png)
        }
        return written
    }
}

/// Headless Chromium, for turning pages into PNG files.
public struct Chromium {
    public var executable: String

    public init(executable: String) {
        self.executable = executable
    }

    /// The `chromium` (or `chromium-browser`, `google-chrome`) on the PATH, if any.
    public static func find(environment: [String: String]) -> Chromium? {
        let folders = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for folder in folders where FileManager.default.isExecutableFile(atPath: folder + "/" + name) {
                return Chromium(executable: folder + "/" + name)
            }
        }
        return nil
    }

    /// Renders the file at `path` into a `width` × `height` PNG.
    public func screenshot(of path: String, to png: String, width: Int, height: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        let profile = NSTemporaryDirectory() + "modalities-chromium-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: profile) }
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile)",
            "--screenshot=\(URL(fileURLWithPath: png).standardizedFileURL.path)", "--window-size=\(width),\(height)",
            URL(fileURLWithPath: path).standardizedFileURL.absoluteString,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: png) else {
            throw SweepError.invalid(path, "chromium could not render it (status \(process.terminationStatus)): \(text.suffix(500))")
        }
    }
}
