import Config
import Foundation
import ModalitiesSchema
import Testing

/// Each file in BrokenConfigs/ states the exact problems it must produce in lines starting `# expect: `
/// (`file:line:column: error: message`), and optionally the command it is checked for in `# for: NAME`.
@Suite struct BrokenConfigTests {
    static let folder = fixturesFolder.appendingPathComponent("BrokenConfigs")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    /// A 50 MB number once took 47 s to refuse and was echoed whole in the message (5 MB here keeps the suite quick).
    @Test func aHugeValueIsRefusedQuicklyWithoutBeingEchoed() throws {
        let yaml = "settings:\n  seed: " + String(repeating: "7", count: 5_000_000) + "\n"
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml, file: "huge.yaml") }
        let message = error?.issues.first?.description ?? ""
        #expect(message.contains("huge.yaml:2:9") && message.contains("a value of 5000000 bytes"), "\(message.prefix(300))")
        #expect(message.utf8.count < 500)
    }

    @Test func theCorpusHasAtLeastThirtyConfigs() {
        #expect(Self.files.count >= 30)
    }

    @Test(arguments: files)
    func brokenConfigGivesItsExpectedProblems(_ name: String) throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let expected = lines.filter { $0.hasPrefix("# expect: ") }.map { String($0.dropFirst("# expect: ".count)) }
        let model = lines.first { $0.hasPrefix("# for: ") }.flatMap { InstantiationModel(rawValue: String($0.dropFirst("# for: ".count))) }
        #expect(!expected.isEmpty, "\(name) states no expected problem")
        #expect(Set(problems(in: text, file: name, for: model)) == Set(expected))
    }

    /// Runs the same pipeline as `modalities config validate` (or `graph` when no command is named).
    func problems(in text: String, file: String, for model: InstantiationModel?) -> [String] {
        let environment = ResolverEnvironment(
            configFilePath: file, experimentsRootPath: "/experiments", experimentID: "exp",
            variables: [:], cpuCount: 2)
        do {
            let root = try ConfigLoader.parse(text, file: file)
            if let model {
                _ = try ConfigValidator(registry: testRegistry(), environment: environment).validate(root, for: model)
            } else {
                let resolved = try ConfigInterpolator(environment: environment).resolve(root)
                try ObjectGraph(root: resolved, registry: testRegistry()).validate()
            }
            return []
        } catch let error as ConfigError {
            return error.issues.map(\.description)
        } catch {
            return ["unexpected: \(error)"]
        }
    }
}
