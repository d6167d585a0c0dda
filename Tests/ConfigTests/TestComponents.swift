import Components
import Config
import Foundation

/// Interfaces and components used only by the config tests: small enough to read, real enough to build.
protocol TestModel: AnyObject {
    var summary: String { get }
}

protocol TestOptimizer {
    var model: TestModel { get }
    var learningRate: Double { get }
}

enum TestInitKind: String, ConfigEnum {
    case NORMAL, XAVIER
}

final class LinearTestModel: TestModel {
    let inFeatures: Int
    let outFeatures: Int
    let initKind: TestInitKind
    init(inFeatures: Int, outFeatures: Int, initKind: TestInitKind) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.initKind = initKind
    }
    var summary: String { "linear(\(inFeatures)->\(outFeatures), \(initKind.rawValue))" }
}

final class WrappedTestModel: TestModel {
    let inner: TestModel
    let tag: String
    init(inner: TestModel, tag: String) {
        self.inner = inner
        self.tag = tag
    }
    var summary: String { "\(tag)(\(inner.summary))" }
}

struct SGDTestOptimizer: TestOptimizer {
    let model: TestModel
    let learningRate: Double
    let momentum: Double
}

struct LinearConfig: DeclaredConfig {
    @Field("in_features") var inFeatures: PositiveInt
    @Field("out_features") var outFeatures: PositiveInt
    @Field("bias") var bias = true
    @Field("init") var initKind = TestInitKind.NORMAL
}

struct WrappedConfig: Decodable {
    var model: ComponentSlot<TestModel>
    var tag: String
}

struct SGDConfig: DeclaredConfig {
    @Field("lr") var lr: Double
    @Field("momentum") var momentum = 0.0
    @Field("model") var model: ComponentSlot<TestModel>
    @Field("nesterov", ignored: "the test optimizer has no Nesterov variant") var nesterov = false

    func validate() throws {
        guard momentum >= 0 && momentum < 1 else { throw ConfigValueError("momentum must be in [0, 1), found \(momentum)") }
    }
}

struct EnsembleConfig: Decodable {
    var models: [ComponentSlot<TestModel>]
    var weights: [Double]
}

final class EnsembleTestModel: TestModel {
    let members: [TestModel]
    init(members: [TestModel]) { self.members = members }
    var summary: String { "ensemble[\(members.map(\.summary).joined(separator: ", "))]" }
}

/// The built-in table plus the test components, as an application that extends the framework would do.
func testRegistry() -> ComponentRegistry {
    let registry = ComponentRegistry.builtIn()
    registry.register(
        "test_model", "linear", summary: "a linear layer", config: LinearConfig.self,
        produces: [TestModel.self]
    ) { config, _ in
        LinearTestModel(inFeatures: config.inFeatures.value, outFeatures: config.outFeatures.value, initKind: config.initKind)
    }
    registry.register("test_model", "wrapped", config: WrappedConfig.self, produces: [TestModel.self]) { config, context in
        WrappedTestModel(inner: try context.build(config.model), tag: config.tag)
    }
    registry.register("test_model", "ensemble", config: EnsembleConfig.self, produces: [TestModel.self]) { config, context in
        EnsembleTestModel(members: try context.build(config.models))
    }
    registry.register("test_optimizer", "sgd", config: SGDConfig.self, produces: [TestOptimizer.self]) { config, context in
        SGDTestOptimizer(model: try context.build(config.model), learningRate: config.lr, momentum: config.momentum)
    }
    return registry
}

/// Folder of this test target's fixtures.
let fixturesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

func resolveText(
    _ yaml: String, variables: [String: String] = [:],
    warmstart: [(key: String, value: String)]? = nil
) throws -> ConfigNode {
    let environment = ResolverEnvironment(
        configFilePath: "/configs/run.yaml", experimentsRootPath: "/experiments",
        experimentID: "exp-1", variables: variables,
        warmstartCheckpointPaths: warmstart, cpuCount: 16)
    return try ConfigInterpolator(environment: environment).resolve(ConfigLoader.parse(yaml, file: "test.yaml"))
}

func graph(_ yaml: String) throws -> ObjectGraph {
    ObjectGraph(root: try resolveText(yaml), registry: testRegistry())
}
