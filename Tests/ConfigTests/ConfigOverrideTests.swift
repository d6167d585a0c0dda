import Testing

@testable import Config

@Suite struct ConfigOverrideTests {
    static let yaml = """
        model:
          config:
            n_layer: 12
            shapes:
              - sample_shape: [3, 224, 224]
              - sample_shape: [1024]
        """

    func apply(_ arguments: [String]) throws -> ConfigNode {
        try arguments.reduce(try ConfigLoader.parse(Self.yaml, file: "c.yaml")) { try ConfigOverride($1).applied(to: $0) }
    }

    @Test func valuesAreReplacedAsYAMLThroughMappingsAndLists() throws {
        let root = try apply(["model.config.n_layer=2", "model.config.shapes.0.sample_shape=[3, 32, 32]", "+model.config.seed=7"])
        #expect(root[path: ["model", "config", "n_layer"]]?.scalarText == "2")
        #expect(root[path: ["model", "config", "shapes"]]?.elements?[0]["sample_shape"]?.elements?.compactMap(\.scalarText) == ["3", "32", "32"])
        #expect(root[path: ["model", "config", "seed"]]?.scalarText == "7")
        #expect(try ConfigOverride("+a.b=c").description == "+a.b=c")
    }

    @Test func mistakesNameTheKeysThereAre() throws {
        #expect(throws: ConfigValueError.self) { try ConfigOverride("model.config.n_layer") }
        #expect(throws: ConfigValueError.self) { try ConfigOverride("model..n_layer=2") }
        let missing = #expect(throws: ConfigValueError.self) { try apply(["model.config.n_layers=2"]) }
        #expect(missing?.message.contains("'model.config' has no key 'n_layers' (keys: n_layer, shapes)") == true)
        #expect(missing?.message.contains("write +model.config.n_layers=… to add one") == true)
        let index = #expect(throws: ConfigValueError.self) { try apply(["model.config.shapes.2.sample_shape=[1]"]) }
        #expect(index?.message.contains("is a list of 2; '2' is not an index of it") == true)
        // Only the last key may be new.
        #expect(throws: ConfigValueError.self) { try apply(["+model.other.seed=1"]) }
    }
}
