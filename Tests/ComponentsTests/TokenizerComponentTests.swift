import Components
import Config
import DataLoading
import Foundation
import TestSupport
import Testing
import Tokenizers

/// The tokenizer components, built from configs written as Modalities users write them.
@Suite struct TokenizerComponentTests {
    static let data = TestData.folder

    func build(_ yaml: String) throws -> any Tokenizer {
        let environment = ResolverEnvironment(configFilePath: "tokenizer.yaml", variables: ["DATA": Self.data])
        let root = try ConfigInterpolator(environment: environment).resolve(ConfigLoader.parse(yaml, file: "tokenizer.yaml"))
        return try ObjectGraph(root: root, registry: .builtIn()).build("tokenizer", as: (any Tokenizer).self)
    }

    @Test func huggingFaceFolderWithTruncationAndPadding() throws {
        let tokenizer = try build(
            """
            tokenizer:
              component_key: tokenizer
              variant_key: pretrained_hf_tokenizer
              config:
                pretrained_model_name_or_path: ${env:DATA}/modalities/tokenizer/hf_gpt2
                max_length: 4
                truncation: true
                padding: max_length
                special_tokens:
                  pad_token: <|endoftext|>
            """)
        #expect(tokenizer.encode("Hello world! The quick") == [15496, 995, 0, 383])
        #expect(tokenizer.encode("Hello") == [15496, 50256, 50256, 50256])
        #expect(tokenizer.tokenID("<|endoftext|>") == 50256)
    }

    @Test func sentencePieceAndTiktokenVariants() throws {
        let sentencePiece = try build(
            """
            tokenizer:
              component_key: tokenizer
              variant_key: pretrained_sp_tokenizer
              config:
                tokenizer_model_file: ${env:DATA}/llama/tokenizer.model
            """)
        #expect(sentencePiece.encode("Hello world").prefix(2) == [15043, 3186])
        let tiktoken = try build(
            """
            tokenizer:
              component_key: tokenizer
              variant_key: tiktoken
              config:
                ranks_file: ${env:DATA}/llama3/tokenizer.model
                pattern: llama3
                special_tokens: {"<|begin_of_text|>": 128000}
            """)
        #expect(tiktoken.encode("<|begin_of_text|>Hello world") == [128000, 9906, 1917])
    }

    @Test func problemsNameTheFileOrKey() throws {
        let missingFile = #expect(throws: ComponentBuildError.self) {
            try build(
                """
                tokenizer:
                  component_key: tokenizer
                  variant_key: pretrained_sp_tokenizer
                  config: {tokenizer_model_file: /nonexistent/tokenizer.model}
                """)
        }
        #expect(missingFile?.description.contains("/nonexistent/tokenizer.model") == true)
        // A special token the vocabulary lacks is appended with the next id, as Hugging Face's add_special_tokens does
        // (the library_usage tutorial's `pad_token: "[PAD]"` on GPT-2), and a list adds several.
        let added = try build(
            """
            tokenizer:
              component_key: tokenizer
              variant_key: pretrained_hf_tokenizer
              config:
                pretrained_model_name_or_path: ${env:DATA}/gpt2
                special_tokens: {pad_token: "[PAD]", additional_special_tokens: ["<|im_start|>", "<|endoftext|>"]}
            """)
        #expect(added.tokenID("<|endoftext|>") == 50256 && added.vocabularySize == 50259)
        #expect(added.tokenID("[PAD]") == 50257 && added.tokenID("<|im_start|>") == 50258)
        #expect(
            added.encode("a[PAD]") == [64, added.tokenID("[PAD]")!] && added.decode(added.encode("x<|im_start|>y")) == "x<|im_start|>y")
        let badPadding = #expect(throws: ConfigError.self) {
            try build(
                """
                tokenizer:
                  component_key: tokenizer
                  variant_key: pretrained_hf_tokenizer
                  config: {pretrained_model_name_or_path: x, padding: sideways}
                """)
        }
        #expect(badPadding?.issues.first?.message.contains("padding must be") == true)
    }
}

@Suite struct DataComponentTests {
    @Test func stepsFromARawIndexCountItsLines() throws {
        let yaml = """
            steps:
              component_key: number_conversion
              variant_key: num_steps_from_raw_dataset_index
              config:
                raw_index_path: ${env:DATA}/modalities/lorem_ipsum_long.idx
                num_ranks: 2
                local_micro_batch_size: 5
                gradient_accumulation_steps: 2
            """
        let environment = ResolverEnvironment(configFilePath: "steps.yaml", variables: ["DATA": TokenizerComponentTests.data])
        let root = try ConfigInterpolator(environment: environment).resolve(ConfigLoader.parse(yaml, file: "steps.yaml"))
        #expect(try ObjectGraph(root: root, registry: .builtIn()).build("steps", as: Int.self) == 500 / 2 / 5 / 2)
    }
}

@Suite struct DataLoaderComponentTests {
    @Test func trainDataloaderFromAModalitiesStyleConfig() throws {
        let yaml = """
            settings:
              sequence_length: 128
              batch_size: 4
            collate_fn:
              component_key: collate_fn
              variant_key: gpt_2_llm_collator
              config: {sample_key: input_ids, target_key: target_ids}
            train_dataset:
              component_key: dataset
              variant_key: packed_mem_map_dataset_continuous
              config:
                raw_data_path: ${env:DATA}/modalities/lorem_ipsum_long.pbin
                sequence_length: ${settings.sequence_length}
                sample_key: input_ids
            train_dataloader:
              component_key: data_loader
              variant_key: default
              config:
                num_workers: 2
                pin_memory: false
                dataloader_tag: train
                dataset: {instance_key: train_dataset, pass_type: BY_REFERENCE}
                batch_sampler:
                  component_key: batch_sampler
                  variant_key: default
                  config:
                    batch_size: ${settings.batch_size}
                    drop_last: true
                    sampler:
                      component_key: sampler
                      variant_key: resumable_distributed_sampler
                      config:
                        dataset: {instance_key: train_dataset, pass_type: BY_REFERENCE}
                        rank: 0
                        num_replicas: 1
                        shuffle: true
                        seed: 42
                        drop_last: true
                        skip_num_global_samples: 8
                collate_fn: {instance_key: collate_fn, pass_type: BY_REFERENCE}
            """
        let environment = ResolverEnvironment(configFilePath: "loader.yaml", variables: ["DATA": TokenizerComponentTests.data])
        let root = try ConfigInterpolator(environment: environment).resolve(ConfigLoader.parse(yaml, file: "loader.yaml"))
        let graph = ObjectGraph(root: root, registry: .builtIn())
        try graph.validate()
        let loader = try graph.build("train_dataloader", as: DataLoader.self)
        let dataset = try graph.build("train_dataset", as: (any Dataset).self)
        #expect(loader.dataset === dataset)  // the reference is one shared instance
        // 2,600 blocks of 129 tokens; 8 skipped; 648 full batches of 4.
        #expect(dataset.count == (332_875 - 129) / 128 + 1)
        #expect(try loader.count() == (dataset.count - 8) / 4)
        let iterator = try loader.makeIterator()
        let batch = try #require(try iterator.nextBatch())
        #expect(batch.samples["input_ids"]?.shape == [4, 128])
        #expect(batch.targets["target_ids"]?.shape == [4, 128])
        #expect(loader.state == 1)
    }
}
