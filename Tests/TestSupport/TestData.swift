import Foundation

/// The shared test assets: the folder named by `MODALITIES_TEST_DATA` (`.ci/run` and `make test` set it), else
/// `../shared/data` next to the checkout.
public enum TestData {
    public static let folder: String = {
        if let folder = ProcessInfo.processInfo.environment["MODALITIES_TEST_DATA"], !folder.isEmpty { return folder }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path
    }()

    /// The path of `relative` inside the assets folder.
    public static func path(_ relative: String) -> String {
        URL(fileURLWithPath: folder).appendingPathComponent(relative).path
    }

    /// The `modalities` executable built next to the test bundle (`swift build --build-tests` builds both), if any.
    public static var modalitiesBinary: String? {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("modalities").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder.deleteLastPathComponent()
        }
        return nil
    }
}
