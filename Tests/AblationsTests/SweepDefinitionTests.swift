import Ablations
import Config
import Foundation
import Testing

/// Sweep files: points, names, paired keys, the written layout and Modalities' remaining-run rules.
struct SweepDefinitionTests {
    func definition(_ yaml: String) throws -> SweepDefinition {
        try SweepDefinition(ConfigLoader.parse(yaml, file: "sweep.yaml"), file: "sweep.yaml")
    }

    @Test func listsMultiplyAndNamesShowTheVariedValues() throws {
        let sweep = try definition(
            """
            sweep:
              optimizer:
                lr: [1e-3, 3e-4]
                betas: [[0.9, 0.95]]
              model:
                n_layer: [2, 4, 8]
              seed: 42
            model_raw:
              n_layer: ${sweep.model.n_layer}
            """)
        let points = try sweep.points()
        #expect(points.count == 6)
        #expect(sweep.variedKeys == ["optimizer.lr", "model.n_layer"])
        #expect(
            points.map(\.name) == [
                "lr-1e-3__n_layer-2", "lr-1e-3__n_layer-4", "lr-1e-3__n_layer-8",
                "lr-3e-4__n_layer-2", "lr-3e-4__n_layer-4", "lr-3e-4__n_layer-8",
            ])
        // The point's sweep block holds single values; a list of one list is that list; the rest follows as written.
        let first = points[0].config
        #expect(first.keys == ["sweep", "model_raw"])
        #expect(first[path: ["sweep", "optimizer", "lr"]]?.scalarText == "1e-3")
        #expect(first[path: ["sweep", "optimizer", "betas"]]?.elements?.compactMap(\.scalarText) == ["0.9", "0.95"])
        #expect(first[path: ["sweep", "seed"]]?.scalarText == "42")
        #expect(first[path: ["model_raw", "n_layer"]]?.scalarText == "${sweep.model.n_layer}")
    }

    @Test func pairedKeysVaryTogether() throws {
        let sweep = try definition(
            """
            sweep:
              lr: [1e-3, 1e-4]
              warmup: [10, 100]
              depth: [2, 4]
            paired: [[lr, warmup]]
            """)
        let points = try sweep.points()
        #expect(
            points.map(\.name) == [
                "lr-1e-3__warmup-10__depth-2", "lr-1e-3__warmup-10__depth-4",
                "lr-1e-4__warmup-100__depth-2", "lr-1e-4__warmup-100__depth-4",
            ])
        #expect(points[0].config["paired"] == nil)
        #expect(throws: SweepError.self) { try definition("sweep:\n  lr: [1, 2]\n  warmup: [1, 2, 3]\npaired: [[lr, warmup]]\n") }
        #expect(throws: SweepError.self) { try definition("sweep:\n  lr: [1, 2]\npaired: [[lr, nope]]\n") }
    }

    @Test func aFileWithoutSweepOrWithAnEmptyListIsRefused() throws {
        #expect(throws: SweepError.invalid("sweep.yaml", "has no top-level `sweep:` mapping of the values to try")) {
            try definition("model: {}\n")
        }
        #expect(throws: SweepError.self) { try definition("sweep:\n  lr: []\n") }
    }

    @Test func preparingWritesStablePathsValidatesFirstAndNeverOverwrites() throws {
        let folder = NSTemporaryDirectory() + "sweep-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sweep = try definition("sweep:\n  lr: [1, 2]\nvalue: ${sweep.lr}\n")
        var validated: [(String, Int)] = []
        let written = try SweepPreparer(definition: sweep, outputDirectory: folder, worldSizes: [1, 2]) { _, path, worldSize in
            validated.append((path, worldSize))
        }.prepare()
        #expect(written == ["1/lr-1", "2/lr-1", "1/lr-2", "2/lr-2"].map { folder + "/sweep/" + $0 + "/sweep.yaml" })
        #expect(validated.map(\.1) == [1, 2, 1, 2])
        // Again: the same files, untouched.
        #expect(try SweepPreparer(definition: sweep, outputDirectory: folder, worldSizes: [1, 2]) { _, _, _ in }.prepare() == written)
        // A config that does not validate stops everything before a file is written.
        let other = folder + "/other"
        #expect(throws: SweepError.self) {
            try SweepPreparer(definition: sweep, outputDirectory: other, worldSizes: [1]) { config, _, _ in
                if config[path: ["sweep", "lr"]]?.scalarText == "2" { throw SweepError.invalid("x", "bad") }
            }.prepare()
        }
        #expect(!FileManager.default.fileExists(atPath: other))
        // Changed content never replaces a prepared file.
        try "changed".write(toFile: written[0], atomically: true, encoding: .utf8)
        #expect(throws: SweepError.self) {
            try SweepPreparer(definition: sweep, outputDirectory: folder, worldSizes: [1]) { _, _, _ in }.prepare()
        }
        #expect(try String(contentsOfFile: written[0], encoding: .utf8) == "changed")
    }

    @Test func remainingRunsFollowModalitiesRules() throws {
        let root = NSTemporaryDirectory() + "remaining-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        func make(_ relative: String, resultLines: Int? = nil, errorType: String? = nil) throws -> String {
            let folder = root + "/" + relative
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "a: 1\n".write(toFile: folder + "/config.yaml", atomically: true, encoding: .utf8)
            if let resultLines {
                try String(repeating: "{}\n", count: resultLines).write(
                    toFile: folder + "/evaluation_results.jsonl", atomically: true, encoding: .utf8)
            }
            if let errorType {
                try "{\"error\": {\"type\": \"\(errorType)\"}}".write(
                    toFile: folder + "/error_logs_host_0.log", atomically: true, encoding: .utf8)
            }
            return folder + "/config.yaml"
        }
        let done = try make("s/2/a", resultLines: 10)
        _ = try make("s/2/b", resultLines: 3)
        let retried = try make("s/2/b_2026-01-02__03-04-05")
        let outOfMemory = try make("s/2/c", errorType: "OutOfMemoryError")
        let other = try make("s/4/a")
        var status = SweepStatus(root: root, worldSize: 2, expectedSteps: 10)
        #expect(try status.allConfigs().count == 4)
        #expect(try status.mostRecentConfigs() == [done, retried, outOfMemory])
        #expect(try status.remainingConfigs() == [retried, outOfMemory])
        status.skipExceptionTypes = ["OutOfMemoryError"]
        #expect(try status.remainingConfigs() == [retried])
        status.worldSize = nil
        #expect(try status.remainingConfigs() == [retried, other])
        // Partly done: remaining configs are copied into new timestamped folders.
        let updated = try status.updatedConfigs(createNewFolders: true, now: Date(timeIntervalSince1970: 0))
        let names = updated.map { URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent }
        #expect(names.count == 2 && names[0].hasPrefix("b_1970-01-0") && names[1].hasPrefix("a_1970-01-0"), "\(names)")
        #expect(updated.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }
}
