// How an application adds its own component without forking: register it next to the built-in table, then
// build a config that uses it together with built-in components.
//
//   swift run CustomComponentExample [path/to/config.yaml]
import Components
import Config
import Foundation

/// The interface this application's components fill.
protocol LearningRateSchedule {
    func learningRate(atStep step: Int) -> Double
}

/// A linear warm-up to `peak`, then constant.
struct WarmupThenConstant: LearningRateSchedule {
    let peak: Double
    let warmupSteps: Int

    func learningRate(atStep step: Int) -> Double {
        step < warmupSteps ? peak * Double(step + 1) / Double(warmupSteps) : peak
    }
}

/// Its config, with the field names the YAML uses.
struct WarmupThenConstantConfig: Decodable {
    var peakLR: Double
    var warmupSteps: PositiveInt

    enum CodingKeys: String, CodingKey { case peakLR = "peak_lr", warmupSteps = "warmup_steps" }
}

let registry = ComponentRegistry.builtIn()
registry.register(
    "lr_schedule", "warmup_then_constant", summary: "linear warm-up, then constant",
    config: WarmupThenConstantConfig.self, produces: [LearningRateSchedule.self]
) { config, _ in
    WarmupThenConstant(peak: config.peakLR, warmupSteps: config.warmupSteps.value)
}

let defaultConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("schedule.yaml").path
let path = CommandLine.arguments.dropFirst().first ?? defaultConfig
do {
    let root = try ConfigLoader.load(file: path)
    let resolved = try ConfigInterpolator(
        environment: ResolverEnvironment(configFilePath: path, variables: ProcessInfo.processInfo.environment)
    ).resolve(root)
    let graph = ObjectGraph(root: resolved, registry: registry)
    try graph.validate()
    let schedule = try graph.build("schedule", as: LearningRateSchedule.self)
    let rates = (0..<6).map { schedule.learningRate(atStep: $0) }
    print("learning rates for steps 0-5: \(rates.map { String(format: "%.2e", $0) }.joined(separator: ", "))")
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}
