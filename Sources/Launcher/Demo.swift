import Ablations
import DataFormats
import Foundation
import Logging
import Models
import Observability
import Tokenizers

/// The built-in end-to-end demo (`modalities demo`, the README's first command): from raw text on the machine
/// to a trained model and a generated sample, through the same commands and driver a real run uses.
///
/// The corpus is the license texts every Debian/Ubuntu system ships in `/usr/share/common-licenses` (package
/// `base-files`): real English prose, available offline. Steps: split it into documents (paragraphs) with a test
/// share, train a byte-level BPE tokenizer, index and pack both splits into `.pbin`, write a Modalities-grammar
/// training config, train with evaluation and checkpoints, then generate a sample from the last checkpoint.
public struct Demo {
    public struct Options {
        public var outputFolder: String
        public var corpusFolder = "/usr/share/common-licenses"
        /// Times the training documents are repeated (epochs over this small corpus).
        public var epochs = 8
        public var vocabularySize = 1024
        public var sequenceLength = 128
        public var microBatchSize = 8
        public var layers = 4
        public var embedding = 128
        public var heads = 4
        /// Where the model trains: the GPU when the machine has one and CUDA loads, else the CPU.
        public var device: DeviceChoice = .automatic
        public var logger: Logger

        public init(outputFolder: String, logger: Logger = Logger(label: "modalities.demo")) {
            self.outputFolder = outputFolder
            self.logger = logger
        }
    }

    public struct Report {
        public var corpusDocuments: Int
        public var trainTokens: Int
        public var summary: TrainingJob.Summary
        public var firstLoss: Double
        public var lastLoss: Double
        public var sample: String
        public var checkpoint: String
        /// The HTML report of the run (`modalities report`): its curves, final metrics and config.
        public var htmlReport: String
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    public func run() throws -> Report {
        let logger = options.logger
        let log: (String) -> Void = { logger.info("\($0)") }
        let root = URL(fileURLWithPath: options.outputFolder).standardizedFileURL.path
        let data = root + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)

        // 1. Documents.
        let documents = try Self.paragraphs(in: options.corpusFolder)
        guard documents.count >= 40 else {
            throw LaunchError.invalid(
                "\(options.corpusFolder) holds only \(documents.count) paragraphs of text; the demo needs a corpus of at least 40")
        }
        let test = documents.enumerated().filter { $0.offset % 20 == 0 }.map(\.element)
        let train = documents.enumerated().filter { $0.offset % 20 != 0 }.map(\.element)
        try Self.writeJSONL(Array(repeating: train, count: options.epochs).flatMap { $0 }, to: data + "/train.jsonl")
        try Self.writeJSONL(test, to: data + "/test.jsonl")
        log(
            "1/5 corpus: \(documents.count) paragraphs from \(options.corpusFolder) (\(train.count) train × \(options.epochs) epochs, \(test.count) test)"
        )

        // 2. Tokenizer.
        let trainer = BytePairTrainer(vocabularySize: options.vocabularySize, specialTokens: ["<|endoftext|>"])
        let tokenizerPath = root + "/tokenizer/tokenizer.json"
        try FileManager.default.createDirectory(atPath: root + "/tokenizer", withIntermediateDirectories: true)
        try BytePairTrainer.tokenizerJSON(trainer.train(train)).write(to: URL(fileURLWithPath: tokenizerPath))
        let tokenizer = try HuggingFaceTokenizerLoader.load(tokenizerPath)
        log("2/5 tokenizer: byte-level BPE with \(tokenizer.vocabularySize) tokens -> \(tokenizerPath)")

        // 3. Index and pack.
        var trainTokens = 0
        for split in ["train", "test"] {
            let source = data + "/\(split).jsonl"
            let index = try RawIndex.build(jsonl: source).entries
            try RawIndex.write(index, to: data + "/\(split).idx")
            let packer = Packer(
                tokenizer: tokenizer, endOfDocumentID: tokenizer.tokenID("<|endoftext|>") ?? 0, jsonPath: JSONPath(".text")!,
                workers: ProcessInfo.processInfo.activeProcessorCount)
            let report = try packer.pack(source: source, index: index, destination: data + "/\(split).pbin")
            if split == "train" { trainTokens = report.tokens }
        }
        log("3/5 data: indexed and packed \(trainTokens) training tokens -> \(data)/train.pbin, test.pbin")

        // 4. Train: evaluate about five times, checkpoint at the end.
        let blocks = (trainTokens - (options.sequenceLength + 1)) / options.sequenceLength + 1
        let steps = blocks / options.microBatchSize
        guard steps >= 10 else { throw LaunchError.invalid("the corpus gives only \(steps) training steps; the demo needs 10 or more") }
        let evaluationInterval = (1...(steps / 5)).last { steps % $0 == 0 } ?? 1
        let configPath = root + "/demo.yaml"
        try config(
            data: data, vocabulary: (tokenizer.vocabularySize + 63) / 64 * 64, evaluationInterval: evaluationInterval,
            checkpointInterval: steps
        )
        .write(toFile: configPath, atomically: true, encoding: .utf8)
        log("4/5 training as \(configPath) declares")
        var jobOptions = TrainingJob.Options(
            configFilePath: configPath, experimentsRootPath: root + "/experiments", experimentID: "demo",
            environment: [:], logger: logger)  // one rank, nothing to read from the environment
        jobOptions.device = options.device
        let summary = try TrainingJob(options: jobOptions).run()
        let records = try JSONLinesResultSubscriber.records(at: summary.experimentFolder + "/evaluation_results.jsonl")
        let losses = records.filter { $0["dataloader_tag"] as? String == "train" }.compactMap {
            ($0["losses"] as? [String: Double])?["train loss avg"]
        }
        guard let firstLoss = losses.first, let lastLoss = losses.last else {
            throw LaunchError.invalid("the demo run logged no training loss")
        }

        // 5. Generate.
        let infoPath = root + "/experiments/checkpoints/last_checkpoint_info.json"
        guard let info = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: infoPath))) as? [String: String],
            let checkpoint = info["checkpoint_folder_path"]
        else {
            throw LaunchError.invalid("\(infoPath): no checkpoint was written")
        }
        let model = try CheckpointedModel.load(folder: checkpoint)
        let prompt = "This License"
        let generator = TextGenerator(model: model, sampling: .init(temperature: 0.8, topK: 40))
        let ids = try generator.generate(
            prompt: tokenizer.encode(prompt), maxNewTokens: 48, endOfText: tokenizer.tokenID("<|endoftext|>"), seed: 1)
        let sample = prompt + tokenizer.decode(ids)
        log("5/5 sample from \(checkpoint):\n\n    \(sample.replacingOccurrences(of: "\n", with: "\n    "))\n")
        let htmlReport = root + "/report.html"
        try ExperimentReport(root: root + "/experiments").write(to: htmlReport)
        log("report of the run: \(htmlReport)")
        return Report(
            corpusDocuments: documents.count, trainTokens: trainTokens, summary: summary, firstLoss: firstLoss, lastLoss: lastLoss,
            sample: sample, checkpoint: checkpoint, htmlReport: htmlReport)
    }

    /// Paragraphs (blank-line separated, whitespace runs collapsed) of every regular file in `folder`, files in
    /// name order, each file read once even when linked under several names.
    static func paragraphs(in folder: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw LaunchError.invalid("\(folder): cannot list the demo corpus (Debian/Ubuntu ship it in the base-files package)")
        }
        var seen = Set<String>()
        var result: [String] = []
        for name in names.sorted() {
            let path = URL(fileURLWithPath: folder + "/" + name).resolvingSymlinksInPath().path
            guard seen.insert(path).inserted, let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            for block in text.components(separatedBy: "\n\n") {
                let paragraph = block.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                if paragraph.count >= 20 { result.append(paragraph) }
            }
        }
        return result
    }

    static func writeJSONL(_ texts: [String], to path: String) throws {
        var output = ""
        for text in texts {
            let data = try JSONSerialization.data(withJSONObject: ["text": text], options: [.withoutEscapingSlashes])
            output += String(decoding: data, as: UTF8.self) + "\n"
        }
        try output.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The training config, in Modalities' grammar.
    func config(data: String, vocabulary: Int, evaluationInterval: Int, checkpointInterval: Int) -> String {
        """
        # Written by `modalities demo`: a small GPT (rotary positions, SwiGLU, RMSNorm) on the packed license corpus.
        settings:
          experiment_id: ${modalities_env:experiment_id}
          config_file_path: ${modalities_env:config_file_path}
          referencing_keys: {sample_key: input_ids, target_key: target_ids, prediction_key: logits}
          cuda_env: {local_rank: "${cuda_env:LOCAL_RANK}", global_rank: "${cuda_env:RANK}", world_size: "${cuda_env:WORLD_SIZE}"}
          paths:
            experiments_root_path: ${modalities_env:experiments_root_path}
            checkpoint_saving_path: ${settings.paths.experiments_root_path}/checkpoints
            train_dataset_path: \(data)/train.pbin
            test_dataset_path: \(data)/test.pbin
          intervals: {training_log_interval_in_steps: \(evaluationInterval), checkpointing_interval_in_steps: \(checkpointInterval), evaluation_interval_in_steps: \(evaluationInterval)}
          consistency_enforcement:
            enforce_tokens_per_step_consistency: true
            enforce_last_step_logged: true
            enforce_last_step_evaluated: true
            enforce_last_step_checkpointed: true
          step_profile: {gradient_accumulation_steps: 1, local_train_micro_batch_size: \(options.microBatchSize), sequence_length: \(options.sequenceLength)}
          training_target:
            num_target_tokens:
              component_key: number_conversion
              variant_key: num_tokens_from_packed_mem_map_dataset_continuous
              config:
                dataset_path: ${settings.paths.train_dataset_path}
                sequence_length: ${settings.step_profile.sequence_length}
                num_ranks: ${settings.cuda_env.world_size}
                local_micro_batch_size: ${settings.step_profile.local_train_micro_batch_size}
                gradient_accumulation_steps: ${settings.step_profile.gradient_accumulation_steps}
            num_target_steps:
              component_key: number_conversion
              variant_key: num_steps_from_num_tokens
              config:
                num_ranks: ${settings.cuda_env.world_size}
                local_micro_batch_size: ${settings.step_profile.local_train_micro_batch_size}
                global_num_tokens: ${settings.training_target.num_target_tokens}
                sequence_length: ${settings.step_profile.sequence_length}
                gradient_accumulation_steps: ${settings.step_profile.gradient_accumulation_steps}
          training_progress: {global_num_seen_tokens: 0, num_seen_steps: 0, num_seen_samples: 0, last_step: -1}

        collate_fn:
          component_key: collate_fn
          variant_key: gpt_2_llm_collator
          config: {sample_key: input_ids, target_key: target_ids}

        train_dataset:
          component_key: dataset
          variant_key: packed_mem_map_dataset_continuous
          config: {raw_data_path: "${settings.paths.train_dataset_path}", sequence_length: "${settings.step_profile.sequence_length}", sample_key: input_ids}

        train_dataloader:
          component_key: data_loader
          variant_key: default
          config:
            num_workers: 2
            pin_memory: true
            dataloader_tag: train
            dataset: {instance_key: train_dataset, pass_type: BY_REFERENCE}
            batch_sampler:
              component_key: batch_sampler
              variant_key: default
              config:
                batch_size: ${settings.step_profile.local_train_micro_batch_size}
                drop_last: true
                sampler:
                  component_key: sampler
                  variant_key: resumable_distributed_sampler
                  config:
                    dataset: {instance_key: train_dataset, pass_type: BY_REFERENCE}
                    rank: ${settings.cuda_env.global_rank}
                    num_replicas: ${settings.cuda_env.world_size}
                    shuffle: true
                    seed: 42
                    drop_last: true
                    skip_num_global_samples: ${settings.training_progress.num_seen_samples}
            collate_fn: {instance_key: collate_fn, pass_type: BY_REFERENCE}

        test_dataset:
          component_key: dataset
          variant_key: packed_mem_map_dataset_continuous
          config: {raw_data_path: "${settings.paths.test_dataset_path}", sequence_length: "${settings.step_profile.sequence_length}", sample_key: input_ids}

        test_dataloader:
          component_key: data_loader
          variant_key: default
          config:
            num_workers: 0
            pin_memory: false
            dataloader_tag: test
            dataset: {instance_key: test_dataset, pass_type: BY_REFERENCE}
            batch_sampler:
              component_key: batch_sampler
              variant_key: default
              config:
                batch_size: 16
                drop_last: true
                sampler:
                  component_key: sampler
                  variant_key: sequential_sampler
                  config:
                    data_source: {instance_key: test_dataset, pass_type: BY_REFERENCE}
            collate_fn: {instance_key: collate_fn, pass_type: BY_REFERENCE}

        eval_dataloaders:
          - {instance_key: test_dataloader, pass_type: BY_REFERENCE}

        checkpoint_saving:
          component_key: checkpoint_saving
          variant_key: default
          config:
            checkpoint_saving_strategy:
              component_key: checkpoint_saving_strategy
              variant_key: save_k_most_recent_checkpoints_strategy
              config: {k: 1}
            checkpoint_saving_execution:
              component_key: checkpoint_saving_execution
              variant_key: dcp
              config: {checkpoint_path: "${settings.paths.checkpoint_saving_path}", global_rank: "${settings.cuda_env.global_rank}", experiment_id: "${settings.experiment_id}"}

        loss_fn:
          component_key: loss
          variant_key: clm_cross_entropy_loss
          config: {target_key: target_ids, prediction_key: logits}

        app_state:
          component_key: app_state
          variant_key: raw
          config:
            model: {instance_key: initialized_model, pass_type: BY_REFERENCE}
            optimizer: {instance_key: optimizer, pass_type: BY_REFERENCE}
            lr_scheduler: {instance_key: lr_scheduler, pass_type: BY_REFERENCE}

        initialized_model:
          component_key: model
          variant_key: model_initialized
          config:
            model: {instance_key: model_raw, pass_type: BY_REFERENCE}
            model_initializer:
              component_key: model_initialization
              variant_key: composed
              config: {model_type: gpt2, weight_init_type: scaled, mean: 0.0, std: 0.02, num_layers: "${model_raw.config.n_layer}"}

        model_raw:
          component_key: model
          variant_key: gpt2
          config:
            sample_key: input_ids
            prediction_key: logits
            poe_type: NOPE
            sequence_length: ${settings.step_profile.sequence_length}
            vocab_size: \(vocabulary)
            n_layer: \(options.layers)
            n_head_q: \(options.heads)
            n_head_kv: \(options.heads)
            n_embd: \(options.embedding)
            ffn_hidden: \(options.embedding * 4)
            dropout: 0.0
            bias: false
            use_weight_tying: true
            attention_config:
              qkv_transforms:
                - type_hint: RotaryTransform
                  config: {n_embd: "${model_raw.config.n_embd}", n_head: "${model_raw.config.n_head_q}", seq_length_dim: -2, base_freq: 10000}
            attention_implementation: pytorch_flash
            activation_type: swiglu
            attention_norm_config: {norm_type: pytorch_rms_norm, config: {normalized_shape: "${model_raw.config.n_embd}", eps: 1e-5}}
            ffn_norm_config: {norm_type: pytorch_rms_norm, config: {normalized_shape: "${model_raw.config.n_embd}", eps: 1e-5}}
            lm_head_norm_config: {norm_type: pytorch_rms_norm, config: {normalized_shape: "${model_raw.config.n_embd}", eps: 1e-5}}

        optimizer:
          component_key: optimizer
          variant_key: adam_w
          config:
            lr: 1e-3
            betas: [0.9, 0.95]
            eps: 1e-8
            weight_decay: 0.1
            weight_decay_groups_excluded: [embedding, layernorm]
            wrapped_model: {instance_key: initialized_model, pass_type: BY_REFERENCE}

        lr_scheduler:
          component_key: scheduler
          variant_key: onecycle_lr
          config:
            optimizer: {instance_key: optimizer, pass_type: BY_REFERENCE}
            max_lr: 3e-3
            div_factor: 10
            final_div_factor: 10
            total_steps: ${settings.training_target.num_target_steps}
            pct_start: 0.1
            anneal_strategy: cos
            last_epoch: ${settings.training_progress.last_step}

        gradient_clipper:
          component_key: gradient_clipper
          variant_key: fsdp2
          config: {wrapped_model: {instance_key: initialized_model, pass_type: BY_REFERENCE}, norm_type: P2_NORM, max_norm: 1.0}

        progress_subscriber:
          component_key: progress_subscriber
          variant_key: rich
          config:
            global_rank: ${settings.cuda_env.global_rank}
            num_seen_steps: ${settings.training_progress.num_seen_steps}
            num_target_steps: ${settings.training_target.num_target_steps}
            train_dataloader_tag: train
            eval_dataloaders: {instance_key: eval_dataloaders, pass_type: BY_REFERENCE}

        evaluation_subscriber:
          component_key: results_subscriber
          variant_key: to_disc
          config: {output_file_path: "${settings.paths.experiments_root_path}/${settings.experiment_id}/evaluation_results.jsonl"}

        """
    }
}
