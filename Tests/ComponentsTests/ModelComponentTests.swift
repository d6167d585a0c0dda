import Components
import Config
import DataLoading
import Distributed
import Foundation
import Models
import Testing
import Torch
import Training

/// The model components, built from Modalities-style YAML and fed by the data loader.
@Suite struct ModelComponentTests {
    static let yaml = """
        settings:
          sequence_length: 64
        train_dataset:
          component_key: dataset
          variant_key: packed_mem_map_dataset_continuous
          config:
            raw_data_path: ${env:DATA}/modalities/lorem_ipsum_long.pbin
            sequence_length: ${settings.sequence_length}
            sample_key: input_ids
        loader:
          component_key: data_loader
          variant_key: default
          config:
            num_workers: 0
            pin_memory: false
            dataloader_tag: train
            dataset: {instance_key: train_dataset, pass_type: BY_REFERENCE}
            batch_sampler:
              component_key: batch_sampler
              variant_key: default
              config:
                batch_size: 2
                sampler:
                  component_key: sampler
                  variant_key: sequential_sampler
                  config: {data_source: {instance_key: train_dataset, pass_type: BY_REFERENCE}}
            collate_fn:
              component_key: collate_fn
              variant_key: gpt_2_llm_collator
              config: {sample_key: input_ids, target_key: target_ids}
        initialized_model:
          component_key: model
          variant_key: model_initialized
          config:
            model: {instance_key: model_raw, pass_type: BY_REFERENCE}
            model_initializer:
              component_key: model_initialization
              variant_key: composed
              config:
                model_type: gpt2
                weight_init_type: scaled
                mean: 0.0
                std: 0.02
                num_layers: ${model_raw.config.n_layer}
        model_raw:
          component_key: model
          variant_key: gpt2
          config:
            use_meta_device: true
            use_weight_tying: false
            sample_key: input_ids
            poe_type: NOPE
            sequence_length: ${settings.sequence_length}
            prediction_key: logits
            vocab_size: 50304
            n_layer: 2
            n_head_q: 8
            n_head_kv: 4
            ffn_hidden: 128
            n_embd: 64
            dropout: 0.0
            bias: true
            attention_config:
              qkv_transforms:
                - type_hint: RotaryTransform
                  config: {n_embd: 64, n_head: 8, seq_length_dim: -2, base_freq: 10000}
            attention_implementation: manual
            activation_type: swiglu
            attention_norm_config: {norm_type: layer_norm, config: {normalized_shape: 64, eps: 1e-5}}
            ffn_norm_config: {norm_type: layer_norm, config: {normalized_shape: 64, eps: 1e-5}}
            lm_head_norm_config: {norm_type: layer_norm, config: {normalized_shape: 64, eps: 1e-5}}
        """

    func graph(_ yaml: String = yaml) throws -> ObjectGraph {
        let environment = ResolverEnvironment(configFilePath: "model.yaml", variables: ["DATA": TokenizerComponentTests.data])
        let root = try ConfigInterpolator(environment: environment).resolve(ConfigLoader.parse(yaml, file: "model.yaml"))
        return ObjectGraph(root: root, registry: .builtIn())
    }

    @Test func initializedModelTakesLoaderBatches() throws {
        let graph = try graph()
        try graph.validate()
        let model = try graph.build("initialized_model", as: (any Model).self)
        #expect(model === (try graph.build("model_raw", as: (any Model).self)))
        // SwiGLU hidden: int(2 · 128 / 3) = 85, rounded up to 256.
        #expect(model.parameters.tensors["transformer.h.0.mlp.W.weight"]?.shape == [256, 64])
        #expect(model.parameters.tensors["transformer.h.1.attn.k_attn.weight"]?.shape == [32, 64])
        let loader = try graph.build("loader", as: DataLoader.self)
        let batch = try #require(try loader.makeIterator().nextBatch())
        let logits = try #require(try model.forward(batch.samples, training: false)["logits"])
        #expect(logits.shape == [2, 64, 50304])
        let loss = try Functional.crossEntropy(logits.reshape([-1, 50304]), target: batch.targets["target_ids"]!.reshape([-1]))
        #expect(Swift.abs(try loss.item(Double.self) - Foundation.log(50304.0)) < 0.1)
    }

    @Test func activationCheckpointingSelectsBlocksAsModalities() throws {
        func checkpointed(_ variant: String, _ parameters: String) throws -> Set<Int> {
            let graph = try graph(
                Self.yaml.replacingOccurrences(of: "n_layer: 2", with: "n_layer: 6") + """

                    ac_model:
                      component_key: model
                      variant_key: activation_checkpointed
                      config:
                        model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                        ac_variant: \(variant)
                        layers_fqn: transformer.h
                        ac_fun_params: \(parameters)
                    """)
            try graph.validate()
            let model = try #require(graph.build("ac_model", as: (any Model).self) as? GPT2LLM)
            return model.checkpointedLayers
        }
        #expect(try checkpointed("full_activation_checkpointing", "{}") == Set(0..<6))
        // Modalities counts wrapped blocks from 1 and checkpoints every ac_freq-th.
        #expect(try checkpointed("selective_layer_activation_checkpointing", "{ac_freq: 2}") == [1, 3, 5])
        // Selective op checkpointing wraps every block and keeps the listed operators' outputs.
        #expect(try checkpointed("selective_op_activation_checkpointing", "{save_ops_keys: [ops.aten.mm.default]}") == Set(0..<6))
        for (keys, message) in [
            ("[mm]", "save_ops_keys has 'mm'; the keys Modalities knows are ops.aten.mm.default"),
            ("[]", "save_ops_keys is empty"),
        ] {
            let error = #expect(throws: ConfigError.self) {
                try checkpointed("selective_op_activation_checkpointing", "{save_ops_keys: \(keys)}")
            }
            #expect(error?.issues.first?.message.contains(message) == true, "\(error?.issues.first?.message ?? "no error")")
        }
    }

    @Test func selectiveOpCheckpointingWarnsAboutOperatorsTheBlocksNeverRun() throws {
        let graph = try graph(
            Self.yaml + """

                ac_model:
                  component_key: model
                  variant_key: activation_checkpointed
                  config:
                    model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    ac_variant: selective_op_activation_checkpointing
                    layers_fqn: transformer.h
                    ac_fun_params:
                      save_ops_keys: [ops.aten.mm.default, ops.aten.max.default]
                """)
        try graph.validate()
        let model = try #require(graph.build("ac_model", as: (any Model).self) as? GPT2LLM)
        #expect(model.selectiveCheckpointPolicy?.savedOperators == [.mm, .max])
        let warnings = graph.problems.filter { $0.severity == .warning }.map(\.message)
        #expect(warnings.contains { $0.contains("ops.aten.max.default match no operator") }, "\(warnings)")
    }

    @Test func huggingFaceFoldersAreModelsForTraining() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InteropTests/Golden/llama").path
        let yaml = """
            hf_model:
              component_key: model
              variant_key: huggingface_pretrained_model
              config:
                model_type: AutoModelForCausalLM
                model_name: \(folder)
                prediction_key: logits
                huggingface_prediction_subscription_key: logits
                sample_key: input_ids
            optimizer:
              component_key: optimizer
              variant_key: adam_w
              config:
                lr: 0.001
                betas: [0.9, 0.95]
                eps: 1e-8
                weight_decay: 0.1
                weight_decay_groups_excluded: [embedding]
                wrapped_model: {instance_key: hf_model, pass_type: BY_REFERENCE}
            """
        let graph = try graph(yaml)
        let model = try #require(graph.build("hf_model", as: (any Model).self) as? GPT2LLM)
        #expect(model.config.keyValueHeads == 2 && !model.config.weightTying)
        #expect(try graph.build("optimizer", as: AdamOptimizer.self).groups.count == 2)
        let missing = yaml.replacingOccurrences(of: folder, with: "gpt2")
        let error = #expect(throws: ComponentBuildError.self) { try self.graph(missing).build("hf_model", as: (any Model).self) }
        #expect(error?.description.contains("never downloads") == true)
    }

    @Test func badModelConfigsPointAtTheField() throws {
        let broken = Self.yaml.replacingOccurrences(of: "n_head_kv: 4", with: "n_head_kv: 3")
        let error = #expect(throws: ConfigError.self) { try graph(broken).validate() }
        #expect(error?.issues.first?.message.contains("n_head_q (8) must be a multiple of n_head_kv (3)") == true)
        let unknownNorm = Self.yaml.replacingOccurrences(
            of: "ffn_norm_config: {norm_type: layer_norm", with: "ffn_norm_config: {norm_type: batch_norm")
        let normError = #expect(throws: ConfigError.self) { try graph(unknownNorm).validate() }
        #expect(normError?.issues.first?.message.contains("expected one of layer_norm, rms_norm, pytorch_rms_norm") == true)
    }
}

@Suite struct TrainingComponentTests {
    @Test func optimizerAndSchedulerFromModalitiesStyleConfig() throws {
        let yaml =
            ModelComponentTests.yaml + """

                optimizer:
                  component_key: optimizer
                  variant_key: adam_w
                  config:
                    lr: 0.0001
                    betas: [0.9, 0.95]
                    eps: 1e-8
                    weight_decay: 1e-1
                    weight_decay_groups_excluded: [embedding, layernorm]
                    wrapped_model: {instance_key: initialized_model, pass_type: BY_REFERENCE}
                lr_scheduler:
                  component_key: scheduler
                  variant_key: onecycle_lr
                  config:
                    optimizer: {instance_key: optimizer, pass_type: BY_REFERENCE}
                    max_lr: 6e-4
                    div_factor: 10
                    final_div_factor: 1
                    total_steps: 650
                    pct_start: 0.01
                    anneal_strategy: cos
                """
        let graph = try ModelComponentTests().graph(yaml)
        try graph.validate()
        let scheduler = try graph.build("lr_scheduler", as: LearningRateScheduler.self)
        let optimizer = try graph.build("optimizer", as: AdamOptimizer.self)
        #expect(scheduler.optimizer === optimizer)
        #expect(optimizer.groups.map(\.weightDecay) == [0.1, 0])
        #expect(Swift.abs(optimizer.learningRate - 6e-5) < 1e-12)  // max_lr / div_factor at step 0
        var rates: [Double] = []
        for _ in 0..<20 {
            scheduler.step()
            rates.append(optimizer.learningRate)
        }
        #expect(rates[4] > rates[0] && rates[5] > rates[19])  // warm-up for 5.5 steps, then annealing
        // pct_start × total_steps below 1 is a schedule without warm-up, as PyTorch gives it; exactly 1 makes PyTorch
        // divide by zero, so it is refused.
        let short = try ModelComponentTests().graph(yaml.replacingOccurrences(of: "total_steps: 650", with: "total_steps: 80"))
        try short.validate()
        let shortScheduler = try short.build("lr_scheduler", as: LearningRateScheduler.self)
        // Step 0 is 0.2 / 79.2 of the way down from max_lr to max_lr / div_factor / final_div_factor (the warm-up ended at -0.2).
        let annealed = 6e-5 + (6e-4 - 6e-5) / 2 * (cos(Double.pi * 0.2 / 79.2) + 1)
        #expect(Swift.abs(shortScheduler.optimizer.learningRate - annealed) < 1e-12)
        // Learning rates PyTorch refuses (NaN, negative) or that cannot train (infinite) fail validation, naming the key.
        for (field, bad) in [
            ("max_lr: 6e-4", "max_lr: .nan"), ("max_lr: 6e-4", "max_lr: -1e-3"), ("lr: 0.0001", "lr: .inf"),
            ("lr: 0.0001", "lr: .nan"),
        ] {
            let error = #expect(throws: ConfigError.self) {
                try ModelComponentTests().graph(yaml.replacingOccurrences(of: field, with: bad)).validate()
            }
            let key = String(field.split(separator: ":")[0])
            #expect(
                error?.issues.contains { $0.message.contains(key) && $0.message.contains("finite") } == true,
                "\(bad): \(error?.issues ?? [])")
        }
        let degenerate = yaml.replacingOccurrences(of: "total_steps: 650", with: "total_steps: 100")
        let degenerateError = #expect(throws: ConfigError.self) { try ModelComponentTests().graph(degenerate).validate() }
        #expect(degenerateError?.issues.first?.message.contains("pct_start × total_steps is exactly 1") == true)
        let lossGraph = try ModelComponentTests().graph(
            yaml + """

                loss_fn:
                  component_key: loss
                  variant_key: clm_cross_entropy_loss
                  config: {target_key: target_ids, prediction_key: logits}
                """)
        let loss = try lossGraph.build("loss_fn", as: CLMCrossEntropyLoss.self)
        let model = try lossGraph.build("initialized_model", as: (any Model).self)
        let batch = try #require(try lossGraph.build("loader", as: DataLoader.self).makeIterator().nextBatch())
        let value = try loss(predictions: model.forward(batch.samples, training: true), targets: batch.targets)
        #expect(Swift.abs(try value.item(Double.self) - Foundation.log(50304.0)) < 0.1)
        #expect(throws: TrainingError.self) { try loss(predictions: [:], targets: batch.targets) }
        let wrongGroup = yaml.replacingOccurrences(of: "[embedding, layernorm]", with: "[embeddings]")
        let error = #expect(throws: ComponentBuildError.self) {
            try ModelComponentTests().graph(wrongGroup).build("optimizer", as: AdamOptimizer.self)
        }
        #expect(error?.description.contains("'embeddings'") == true)
    }
}

@Suite struct TextInferenceComponentTests {
    @Test func theTemplateIsFilledAndGreedyGenerationStreams() throws {
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InteropTests/Golden/llama").path
        let tokenizer = TokenizerComponentTests.data + "/gpt2"
        let yaml = """
            model:
              component_key: model
              variant_key: huggingface_pretrained_model
              config: {model_type: AutoModelForCausalLM, model_name: \(golden), prediction_key: logits,
                       huggingface_prediction_subscription_key: logits, sample_key: input_ids}
            tokenizer:
              component_key: tokenizer
              variant_key: pretrained_hf_tokenizer
              config: {pretrained_model_name_or_path: \(tokenizer)}
            text_inference_component:
              component_key: inference_component
              variant_key: text
              config:
                device: cpu
                model: {instance_key: model, pass_type: BY_REFERENCE}
                tokenizer: {instance_key: tokenizer, pass_type: BY_REFERENCE}
                sequence_length: 12
                eod_token: <|endoftext|>
                prompt_template: "{a}{b}"
                temperature: 0
            """
        let component = try ModelComponentTests().graph(yaml).build("text_inference_component", as: TextInferenceComponent.self)
        let prompt = try component.prompt { ["a": "!", "b": "#"][$0] }
        #expect(prompt == "!#")
        var streamed = ""
        let ids = try component.generate(prompt) { streamed += $0 }
        // The golden model's vocabulary is 64 ids (GPT-2's first 64 are single characters); greedy decoding fills the
        // sequence: 12 - 2 prompt tokens.
        #expect(ids.count == 10 && streamed == component.tokenizer.decode(ids))
        #expect(throws: TrainingError.self) { try component.prompt { _ in nil } }
    }
}
