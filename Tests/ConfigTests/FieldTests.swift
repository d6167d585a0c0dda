import Config
import Testing

/// `@Field` declarations: one place for a key, its default and whether it is acted on.
@Suite struct FieldTests {
    let optimizer = """
        optimizer:
          component_key: test_optimizer
          variant_key: sgd
          config:
            lr: 0.5
            nesterov: true
            model:
              component_key: test_model
              variant_key: linear
              config: {in_features: 3, out_features: 2}
        """

    @Test func defaultsComeFromTheDeclaration() throws {
        let graph = try graph(optimizer)
        try graph.validate()
        let built = try #require(try graph.build("optimizer", as: TestOptimizer.self) as? SGDTestOptimizer)
        #expect(built.learningRate == 0.5)
        #expect(built.momentum == 0)
        #expect(built.model.summary == "linear(3->2, NORMAL)")
    }

    @Test func anIgnoredFieldThatIsSetGivesAWarningNamingIt() throws {
        let withNesterov = try graph(optimizer)
        try withNesterov.validate()
        let warnings = withNesterov.problems.filter { $0.severity == .warning }
        #expect(warnings.count == 1)
        let warning = try #require(warnings.first)
        #expect(warning.keyPath == "optimizer.config.nesterov")
        #expect(warning.description.contains("test.yaml:6:"))
        #expect(warning.message.contains("'nesterov' is accepted for compatibility with Modalities and has no effect"))
        #expect(warning.message.contains("no Nesterov variant"))
        // Left out, it says nothing.
        let quiet = try graph(optimizer.replacingOccurrences(of: "    nesterov: true\n", with: ""))
        try quiet.validate()
        #expect(quiet.problems.isEmpty)
    }

    @Test func aMissingRequiredFieldAndAFailedCheckAreErrorsWithTheirLocation() throws {
        let missing = try graph(optimizer.replacingOccurrences(of: "    lr: 0.5\n", with: ""))
        let error = #expect(throws: ConfigError.self) { try missing.validate() }
        let errors = error?.issues.filter { $0.severity == .error } ?? []
        #expect(errors.map(\.message) == ["missing required key 'lr'"])
        #expect(errors.first?.keyPath == "optimizer.config.lr")

        let invalid = try graph(optimizer.replacingOccurrences(of: "    lr: 0.5\n", with: "    lr: 0.5\n    momentum: 1.5\n"))
        let failure = #expect(throws: ConfigError.self) { try invalid.validate() }
        #expect(failure?.issues.filter { $0.severity == .error }.map(\.message) == ["momentum must be in [0, 1), found 1.5"])
    }

    @Test func theReferenceListsEachFieldAsDeclared() throws {
        let fields = try #require(testRegistry().spec("test_optimizer", "sgd")?.configFields)
        #expect(fields.map(\.name) == ["lr", "momentum", "model", "nesterov"])
        #expect(fields.map(\.isRequired) == [true, false, true, false])
        #expect(fields.map(\.defaultValue) == [nil, "0.0", nil, "false"])
        #expect(fields.map(\.ignoredReason) == [nil, nil, nil, "the test optimizer has no Nesterov variant"])
    }

    @Test func groupsOfFieldsAreFlattenedIntoTheirParent() throws {
        // A scheduler's shared fields and its variant's parameters come from one mapping and list together.
        let fields = try #require(ComponentRegistry.builtIn().spec("scheduler", "onecycle_lr")?.configFields)
        let names = fields.map(\.name)
        #expect(Array(names.prefix(3)) == ["optimizer", "last_epoch", "max_lr"])
        #expect(fields.first { $0.name == "last_epoch" }?.defaultValue == "-1")
        #expect(fields.first { $0.name == "div_factor" }?.defaultValue == "25.0")
        #expect(fields.first { $0.name == "cycle_momentum" }?.defaultValue == "false")
        #expect(fields.first { $0.name == "epochs" }?.ignoredReason != nil)
    }

    @Test func anOptionalFieldWithoutAnInitialValueDefaultsToNull() throws {
        let fields = try #require(ComponentRegistry.builtIn().spec("optimizer", "adam_w")?.configFields)
        let fused = try #require(fields.first { $0.name == "fused" })
        #expect(!fused.isRequired && fused.defaultValue == "null" && fused.type == "bool")
    }

    @Test func copiesOfADecodedConfigAreIndependent() throws {
        struct Pair: DeclaredConfig {
            @Field("a") var a = 1
        }
        var first = Pair()
        let second = first
        first.a = 5
        #expect(first.a == 5 && second.a == 1)
    }
}
