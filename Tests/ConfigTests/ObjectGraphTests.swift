import Components
import Config
import Testing

@Suite struct ObjectGraphTests {
    let twoOptimizers = """
        optimizer_a:
          component_key: test_optimizer
          variant_key: sgd
          config:
            lr: "0.1"
            model: {instance_key: shared_model, pass_type: BY_REFERENCE}
        optimizer_b:
          component_key: test_optimizer
          variant_key: sgd
          config:
            lr: 1e-3
            momentum: 0.9
            model: {instance_key: shared_model, pass_type: BY_REFERENCE}
        shared_model:
          component_key: test_model
          variant_key: linear
          config: {in_features: 4, out_features: "2", init: XAVIER}
        """

    @Test func referencesShareOneInstanceAndMayPointForward() throws {
        let graph = try graph(twoOptimizers)
        try graph.validate()
        let a = try graph.build("optimizer_a", as: TestOptimizer.self)
        let b = try graph.build("optimizer_b", as: TestOptimizer.self)
        #expect(a.model === b.model)
        #expect(a.model === (try graph.build("shared_model", as: TestModel.self)))
        #expect(a.learningRate == 0.1)
        #expect(b.learningRate == 1e-3)
        #expect(a.model.summary == "linear(4->2, XAVIER)")
    }

    @Test func inlineComponentsAreBuiltWhereUsed() throws {
        let graph = try graph(
            """
            base:
              component_key: test_model
              variant_key: linear
              config: {in_features: 3, out_features: 3}
            first:
              component_key: test_model
              variant_key: wrapped
              config:
                tag: a
                model: ${base}
            second:
              component_key: test_model
              variant_key: wrapped
              config:
                tag: b
                model: ${base}
            """)
        let first = try graph.build("first", as: TestModel.self) as! WrappedTestModel
        let second = try graph.build("second", as: TestModel.self) as! WrappedTestModel
        #expect(first.inner !== second.inner)
        #expect(first.summary == "a(linear(3->3, NORMAL))")
    }

    @Test func listsOfComponentsAndReferences() throws {
        let graph = try graph(
            """
            ensemble:
              component_key: test_model
              variant_key: ensemble
              config:
                weights: [0.5, "0.5"]
                models:
                  - {instance_key: small, pass_type: BY_REFERENCE}
                  - component_key: test_model
                    variant_key: linear
                    config: {in_features: 8, out_features: 1}
            small:
              component_key: test_model
              variant_key: linear
              config: {in_features: 2, out_features: 1}
            """)
        let model = try graph.build("ensemble", as: TestModel.self)
        #expect(model.summary == "ensemble[linear(2->1, NORMAL), linear(8->1, NORMAL)]")
    }

    @Test func valueComponentsFillPlainFields() throws {
        let graph = try graph(
            """
            model:
              component_key: test_model
              variant_key: linear
              config:
                out_features: 1
                in_features:
                  component_key: number_conversion
                  variant_key: num_steps_from_num_tokens
                  config:
                    num_ranks: 2
                    local_micro_batch_size: 4
                    global_num_tokens: 8192
                    sequence_length: 128
                    gradient_accumulation_steps: 2
            """)
        let model = try graph.build("model", as: TestModel.self)
        #expect(model.summary == "linear(4->1, NORMAL)")
    }

    @Test func edgesShowWhoUsesWhom() throws {
        let edges = ComponentEdges(try resolveText(twoOptimizers))
        #expect(
            edges.topLevel.map(\.label) == [
                "optimizer_a (test_optimizer/sgd)", "optimizer_b (test_optimizer/sgd)",
                "shared_model (test_model/linear)",
            ])
        #expect(edges.edges.filter(\.byReference).map(\.to.keyPath) == ["shared_model", "shared_model"])
        let nested = ComponentEdges(
            try resolveText(
                """
                loader:
                  component_key: data_loader
                  variant_key: default
                  config:
                    sampler:
                      component_key: sampler
                      variant_key: distributed_sampler
                      config: {dataset: {instance_key: data, pass_type: BY_REFERENCE}}
                data: {component_key: dataset, variant_key: dummy_dataset, config: {}}
                evals: [{instance_key: loader, pass_type: BY_REFERENCE}]
                """))
        #expect(nested.edges.contains { $0.from.keyPath == "loader" && $0.to.keyPath == "loader.config.sampler" && !$0.byReference })
        #expect(nested.edges.contains { $0.from.keyPath == "loader.config.sampler" && $0.to.keyPath == "data" && $0.byReference })
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let graph = try graph(
            """
            optimizer:
              component_key: test_optimizer
              variant_key: sgd
              config:
                lr: fast
                lr_rate: 0.1
                model: {instance_key: modle, pass_type: BY_REFERENCE}
            model:
              component_key: test_model
              variant_key: linear
              config: {in_features: 0, out_features: 2, init: GAUSSIAN}
            """)
        let error = #expect(throws: ConfigError.self) { try graph.validate() }
        let messages = (error?.issues ?? []).map(\.description)
        #expect(messages.count == 5, "\(messages.joined(separator: "\n"))")
        #expect(messages.contains { $0.contains("test.yaml:5:9") && $0.contains("expected a number") })
        #expect(messages.contains { $0.contains("test.yaml:6:5") && $0.contains("unknown key 'lr_rate'; did you mean 'lr'?") })
        #expect(messages.contains { $0.contains("did you mean 'model'?") })
        #expect(messages.contains { $0.contains("must be greater than 0") })
        #expect(messages.contains { $0.contains("expected one of NORMAL, XAVIER") })
    }

    @Test func aPlannedComponentNamesTheFeatureItNeeds() throws {
        // A pair Modalities registers that this version does not build yet (none today) is known, not "unknown".
        let registry = testRegistry()
        registry.registerPlanned("test_model", "einsum", feature: "einsum transformers")
        let graph = ObjectGraph(
            root: try resolveText("model:\n  component_key: test_model\n  variant_key: einsum\n  config: {}\n"), registry: registry)
        let error = #expect(throws: ConfigError.self) { try graph.validate() }
        let messages = (error?.issues ?? []).map(\.description)
        #expect(messages == ["test.yaml:3:16: error: test_model/einsum is not available yet: it needs einsum transformers (at model.variant_key)"])
    }

    @Test func componentsAreListedWithTheirFields() throws {
        let registry = testRegistry()
        let fields = try #require(registry.spec("test_model", "linear")?.configFields)
        #expect(fields.map(\.name) == ["in_features", "out_features", "bias", "init"])
        #expect(fields[0].isRequired && fields[0].type == "int")
        #expect(fields[2].defaultValue == "true")
        #expect(fields[3].defaultValue == "NORMAL")
        let slotFields = try #require(registry.spec("test_optimizer", "sgd")?.configFields)
        #expect(slotFields.first { $0.name == "model" }?.type == "component TestModel")
        #expect(slotFields.first { $0.name == "momentum" }?.defaultValue == "0.0")
    }

    @Test func requiredEnumFieldsDoNotCutTheFieldListShort() throws {
        // model/gpt2 asks for its enum `attention_implementation` before most of its fields; the schema's stand-in
        // for an enum must be one of its cases, or decoding stops there and the rest goes unlisted.
        let fields = try #require(ComponentRegistry.builtIn().spec("model", "gpt2")?.configFields).map(\.name)
        for name in [
            "attention_implementation", "activation_type", "vocab_size", "n_layer", "n_head_q", "n_embd",
            "ffn_hidden", "attention_norm_config", "lm_head_norm_config", "use_weight_tying",
        ] {
            #expect(fields.contains(name), "\(name) missing from \(fields)")
        }
    }

    @Test func theBuiltInTableListsEveryModalitiesPair() {
        let registry = ComponentRegistry.builtIn()
        // Modalities' 94 pairs, its inference_component/text (registered by its generate_text), and ours:
        // tokenizer/tiktoken, results_subscriber/tensorboard, model/ddp_wrapped, dataset/image_caption_jsonl, and the
        // profiling tutorial's steppable_component/steppable_norm (registered from Python there).
        #expect(registry.all.count == 100)
        #expect(registry.spec("model", "coca")?.availability == .available)
        #expect(registry.spec("number_conversion", "num_tokens_from_num_steps")?.availability == .available)
        #expect(registry.spec("model", "gpt2")?.availability == .available)
        #expect(registry.spec("gradient_clipper", "fsdp2")?.availability == .available)
        #expect(registry.spec("model", "compiled")?.availability == .available)
        // Every pair is built: nothing left that a config could name and only get "not available yet" for.
        #expect(registry.all.allSatisfy { $0.availability == .available })
    }
}
