import Config
import Foundation

/// Writes one config per sweep point and world size (`modalities benchmark prepare_sweep_configs`):
///
/// ```
/// <output_dir>/<sweep file name without extension>/<world size>/<point name>/<sweep file name>
/// ```
///
/// Names are stable (preparing again gives the same paths, and an identical file is left as it is) and readable
/// (the varied values). Every config is validated before anything is written; a file that exists with other
/// content is never overwritten.
public struct SweepPreparer {
    /// Checks a point's config as it will be run on `worldSize` ranks from `path`; throws to refuse it.
    public typealias Validator = (_ config: ConfigNode, _ path: String, _ worldSize: Int) throws -> Void

    public var definition: SweepDefinition
    public var outputDirectory: String
    public var worldSizes: [Int]
    public var validate: Validator

    public init(definition: SweepDefinition, outputDirectory: String, worldSizes: [Int], validate: @escaping Validator) {
        self.definition = definition
        self.outputDirectory = outputDirectory
        self.worldSizes = worldSizes
        self.validate = validate
    }

    /// The config files, written (or found identical).
    @discardableResult
    public func prepare() throws -> [String] {
        guard !worldSizes.isEmpty, worldSizes.allSatisfy({ $0 >= 1 }) else {
            throw SweepError.invalid(definition.file, "world sizes must be 1 or more, got \(worldSizes)")
        }
        let fileName = URL(fileURLWithPath: definition.file).lastPathComponent
        let stem = URL(fileURLWithPath: fileName).deletingPathExtension().lastPathComponent
        var planned: [(path: String, text: String)] = []
        var problems: [String] = []
        for point in try definition.points() {
            let text =
                "# Sweep point \(point.name) of \(fileName), written by modalities benchmark prepare_sweep_configs.\n"
                + ConfigEmitter.yaml(point.config)
            for worldSize in worldSizes {
                let path = [outputDirectory, stem, String(worldSize), point.name, fileName].joined(separator: "/")
                do {
                    try validate(point.config, path, worldSize)
                } catch let error as ConfigError {
                    problems.append(
                        "\(point.name) on \(worldSize) rank(s): "
                            + error.issues.filter { $0.severity == .error }.map(\.description).joined(separator: "; "))
                } catch {
                    problems.append("\(point.name) on \(worldSize) rank(s): \(error)")
                }
                if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing != text {
                    problems.append("\(path) exists with other content; remove it or choose another --output_dir")
                }
                planned.append((path, text))
            }
        }
        guard problems.isEmpty else {
            throw SweepError.invalid(definition.file, "no config written:\n  " + problems.joined(separator: "\n  "))
        }
        for (path, text) in planned where (try? String(contentsOfFile: path, encoding: .utf8)) != text {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return planned.map(\.path)
    }
}
