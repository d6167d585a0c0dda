import Foundation
import Synchronization
import Testing

/// One run of the tiny test config (Configs/tiny_gpt2.yaml) on `ranks` processes, with the global batch of
/// `ranks × microBatch × accumulation` sequences, under replicated or sharded data parallelism.
struct DistributedRun {
    enum Engine: CustomStringConvertible {
        /// `model/ddp_wrapped`.
        case replicated
        /// `model/fsdp2_wrapped` over all ranks.
        case sharded
        /// `model/fsdp2_wrapped` over a mesh of 2 replicas × ranks/2 shards.
        case hybrid
        /// `model/fsdp1_wrapped` with this sharding strategy.
        case fsdp1(String)
        /// `model/gpt2_tp` over this many ranks, inside `model/fsdp2_wrapped` over the rest (ranks / degree).
        case tensorParallel(Int)
        /// `model/gpt2_tp` over this many ranks, inside `model/ddp_wrapped` over the rest.
        case tensorParallelReplicated(Int)
        /// `pipeline/staged` over 2 pipeline ranks with this schedule and layers per stage (the embeddings and the
        /// head count as one each), each stage's part split by `model/gpt2_tp` over `tensorParallel` ranks (with loss
        /// parallelism) when above 1, `model/fsdp2_wrapped` over the rest, one micro batch per sample.
        case pipeline(schedule: String, layersPerStage: Int, tensorParallel: Int = 1)

        var description: String {
            switch self {
            case .replicated: return "ddp"
            case .sharded: return "fsdp2"
            case .hybrid: return "fsdp2 hybrid"
            case let .fsdp1(strategy): return "fsdp1 \(strategy)"
            case let .tensorParallel(degree): return "fsdp2 × tp\(degree)"
            case let .tensorParallelReplicated(degree): return "ddp × tp\(degree)"
            case let .pipeline(schedule, _, tensorParallel): return "fsdp2 × pp2 × tp\(tensorParallel) \(schedule)"
            }
        }
    }

    var ranks: Int
    var microBatch: Int
    var accumulation: Int
    var engine: Engine
    var keepAllCheckpoints = false
    /// `use_weight_tying` (pipeline stages cannot share the embedding with the head: false for them).
    var tiedWeights = true
    /// Modalities' FSDP1 torch.save files instead of our checkpoint folders.
    var fsdp1Checkpoints = false
    /// Ends `losses()` after this many steps (`--stop_after_steps`), the schedule still that of the 16-step target.
    var stopAfterSteps: Int?
    var root: String

    init(ranks: Int, microBatch: Int, accumulation: Int, engine: Engine, keepAllCheckpoints: Bool = false) throws {
        self.ranks = ranks
        self.microBatch = microBatch
        self.accumulation = accumulation
        self.engine = engine
        self.keepAllCheckpoints = keepAllCheckpoints
        root = try TrainingJobTests().temporaryFolder()
    }

    /// The config's text for this run (from the run or the warmstart config).
    func config(warmstart: Bool = false) throws -> String {
        var text = try String(contentsOfFile: warmstart ? TrainingJobTests.warmstartConfig : TrainingJobTests.runConfig, encoding: .utf8)
            .replacingOccurrences(of: "gradient_accumulation_steps: 2", with: "gradient_accumulation_steps: \(accumulation)")
            .replacingOccurrences(of: "local_train_micro_batch_size: 2", with: "local_train_micro_batch_size: \(microBatch)")
        if keepAllCheckpoints { text = text.replacingOccurrences(of: "        k: 2\n", with: "        k: -1\n") }
        if !tiedWeights { text = text.replacingOccurrences(of: "    use_weight_tying: true\n", with: "    use_weight_tying: false\n") }
        if fsdp1Checkpoints {
            text = text.replacingOccurrences(
                of: "      component_key: checkpoint_saving_execution\n      variant_key: dcp",
                with: "      component_key: checkpoint_saving_execution\n      variant_key: fsdp1")
        }
        let fsdp2Block = """
              variant_key: fsdp2_wrapped
              config:
                model:
                  instance_key: model_raw
                  pass_type: BY_REFERENCE
                device_mesh:
                  instance_key: device_mesh
                  pass_type: BY_REFERENCE
                mixed_precision_settings:
                  param_dtype: FP_32
                  reduce_dtype: FP_32
                block_names: [GPT2Block]
            """
        switch engine {
        case .sharded:
            break
        case let .fsdp1(strategy):
            text = text.replacingOccurrences(
                of: fsdp2Block,
                with: """
                      variant_key: fsdp1_wrapped
                      config:
                        model:
                          instance_key: model_raw
                          pass_type: BY_REFERENCE
                        sync_module_states: true
                        mixed_precision_settings: FP_32
                        sharding_strategy: \(strategy)
                        block_names: [GPT2Block]
                    """)
        case let .tensorParallel(degree):
            // The collectives overlapped with the products (async TP); the replicated and pipelined layouts run them
            // in line, so both paths train through launch.
            text = tensorParallel(text, degree: degree, overlapping: true)
        case let .pipeline(schedule, layersPerStage, tensorParallel):
            text = pipeline(text, schedule: schedule, layersPerStage: layersPerStage, tensorParallel: tensorParallel)
        case let .tensorParallelReplicated(degree):
            text = tensorParallel(text, degree: degree).replacingOccurrences(
                of: fsdp2Block.replacingOccurrences(of: "instance_key: model_raw", with: "instance_key: gpt2_tp_model"),
                with: """
                      variant_key: ddp_wrapped
                      config:
                        model:
                          instance_key: gpt2_tp_model
                          pass_type: BY_REFERENCE
                        device_mesh:
                          instance_key: device_mesh
                          pass_type: BY_REFERENCE
                    """)
        case .hybrid:
            text = text.replacingOccurrences(
                of: "    data_parallel_replicate_degree: 1\n    data_parallel_shard_degree: ${settings.cuda_env.world_size}",
                with: "    data_parallel_replicate_degree: 2\n    data_parallel_shard_degree: \(ranks / 2)")
        case .replicated:
            text = text.replacingOccurrences(
                of: fsdp2Block,
                with: """
                      variant_key: ddp_wrapped
                      config:
                        model:
                          instance_key: model_raw
                          pass_type: BY_REFERENCE
                        device_mesh:
                          instance_key: device_mesh
                          pass_type: BY_REFERENCE
                    """)
        }
        precondition(
            text.contains("fsdp2_wrapped") == (engine.description.hasPrefix("fsdp2")), "the config's model wrapper was not replaced")
        return text
    }

    /// `text` with the model split over `degree` tensor-parallel ranks (`model/gpt2_tp` between the raw model and
    /// FSDP, as Modalities' TP configs have it), the data-parallel degree counted without them, and the samplers
    /// reading one stream per data-parallel rank, so the ranks of a tensor-parallel group see the same batch. The
    /// loss is computed on the logits split over the vocabulary (`enable_loss_parallel`): the gathered logits (the
    /// default) are what `sharding_check --engine tp` and the thread-rank tests compare.
    private func tensorParallel(_ text: String, degree: Int, overlapping: Bool = false) -> String {
        let shards = ranks / degree
        return
            dataParallelSamplers(text, shards: shards)
            .replacingOccurrences(
                of: "    data_parallel_shard_degree: ${settings.cuda_env.world_size}\n",
                with: "    data_parallel_shard_degree: \(shards)\n" + Self.tensorParallelMesh(degree)
            )
            .replacingOccurrences(
                of: "  config:\n    model:\n      instance_key: model_raw\n      pass_type: BY_REFERENCE\n    device_mesh:",
                with: "  config:\n    model:\n      instance_key: gpt2_tp_model\n      pass_type: BY_REFERENCE\n    device_mesh:")
            + Self.tensorParallelModel(splitting: "model_raw", overlapping: overlapping)
    }

    /// The device mesh's lines for `degree` tensor-parallel ranks, with the loss computed on logits split over the
    /// vocabulary (`enable_loss_parallel`).
    private static func tensorParallelMesh(_ degree: Int) -> String {
        "    tensor_parallel_degree: \(degree)\n    enable_loss_parallel: true\n"
    }

    /// A top-level `gpt2_tp_model` splitting the model at `source` over the mesh's tp ranks.
    private static func tensorParallelModel(splitting source: String, overlapping: Bool = false) -> String {
        """

        gpt2_tp_model:
          component_key: model
          variant_key: gpt2_tp
          config:
            model:
              instance_key: \(source)
              pass_type: BY_REFERENCE
            device_mesh:
              instance_key: device_mesh
              pass_type: BY_REFERENCE
            enable_async_tensor_parallel: \(overlapping)

        """
    }

    /// `text` with the model split into pipeline stages over 2 ranks as Modalities' PP config does it: the raw model
    /// into `pipeline/staged`, its model parts into `fsdp2_wrapped` (over ranks / 2 shards), the builder and
    /// `pipeline/scheduled` (the local batch in micro batches of one sample), and the initialised model selected from
    /// the scheduled pipeline. The samplers read one stream per data-parallel rank, as for tensor parallelism.
    private func pipeline(_ text: String, schedule: String, layersPerStage: Int, tensorParallel: Int) -> String {
        let shards = ranks / 2 / tensorParallel
        let tensorParallelMesh = tensorParallel > 1 ? Self.tensorParallelMesh(tensorParallel) : ""
        let wrapped = tensorParallel > 1 ? "gpt2_tp_model" : "model_part"
        let tensorParallelModel = tensorParallel > 1 ? Self.tensorParallelModel(splitting: "model_part") : ""
        return
            dataParallelSamplers(text, shards: shards)
            .replacingOccurrences(
                of: "    data_parallel_shard_degree: ${settings.cuda_env.world_size}\n",
                with: "    data_parallel_shard_degree: \(shards)\n    pipeline_parallel_degree: 2\n" + tensorParallelMesh
            )
            .replacingOccurrences(
                of:
                    "initialized_model:\n  component_key: model\n  variant_key: model_initialized\n  config:\n    model:\n      instance_key: fsdp_model\n      pass_type: BY_REFERENCE\n",
                with: """
                    initialized_model:
                      component_key: model
                      variant_key: model_initialized
                      config:
                        model:
                          component_key: pipeline
                          variant_key: selector
                          config:
                            pipeline:
                              instance_key: scheduled_pipeline
                              pass_type: BY_REFERENCE
                            selection_type: MODEL_PART

                    """
            )
            .replacingOccurrences(
                of: "  config:\n    model:\n      instance_key: model_raw\n      pass_type: BY_REFERENCE\n    device_mesh:",
                with: "  config:\n    model:\n      instance_key: \(wrapped)\n      pass_type: BY_REFERENCE\n    device_mesh:")
            + tensorParallelModel + """

                scheduled_pipeline:
                  component_key: pipeline
                  variant_key: scheduled
                  config:
                    loss_fn:
                      instance_key: loss_fn
                      pass_type: BY_REFERENCE
                    pp_schedule_name: \(schedule)
                    batch_size: ${settings.step_profile.local_train_micro_batch_size}
                    microbatch_size: 1
                    pp_degree: ${device_mesh.config.pipeline_parallel_degree}
                    pipeline:
                      component_key: pipeline
                      variant_key: builder
                      config:
                        pp_stage:
                          component_key: pipeline
                          variant_key: selector
                          config:
                            pipeline:
                              instance_key: staged_pipeline
                              pass_type: BY_REFERENCE
                            selection_type: PP_STAGE
                        model_part:
                          instance_key: fsdp_model
                          pass_type: BY_REFERENCE

                model_part:
                  component_key: pipeline
                  variant_key: selector
                  config:
                    pipeline:
                      instance_key: staged_pipeline
                      pass_type: BY_REFERENCE
                    selection_type: MODEL_PART

                staged_pipeline:
                  component_key: pipeline
                  variant_key: staged
                  config:
                    whole_model:
                      instance_key: model_raw
                      pass_type: BY_REFERENCE
                    stages_generator:
                      component_key: stages_generator
                      variant_key: gpt2_stages_generator
                      config:
                        num_model_layers: ${model_raw.config.n_layer}
                    device_mesh:
                      instance_key: device_mesh
                      pass_type: BY_REFERENCE
                    local_rank: ${settings.cuda_env.local_rank}
                    pp_schedule_name: ${scheduled_pipeline.config.pp_schedule_name}
                    num_layers_per_stage: \(layersPerStage)

                """
    }

    /// `text` with `shards` data-parallel ranks (the others of the mesh see the same batches): the samplers read one
    /// stream per data-parallel rank through the mesh, and the token counts use `shards`.
    private func dataParallelSamplers(_ text: String, shards: Int) -> String {
        let sampler = """
                      variant_key: resumable_distributed_multi_dim_sampler
                      config:
                        device_mesh:
                          instance_key: device_mesh
                          pass_type: BY_REFERENCE
                        data_parallel_key: dp_shard
            """
        return
            text
            .replacingOccurrences(of: "num_ranks: ${settings.cuda_env.world_size}", with: "num_ranks: \(shards)")
            .replacingOccurrences(of: "    sequence_length: 64\n", with: "    sequence_length: 64\n    dp_degree: \(shards)\n")
            .replacingOccurrences(
                of: """
                              variant_key: resumable_distributed_sampler
                              config:
                                dataset:
                                  instance_key: train_dataset
                                  pass_type: BY_REFERENCE
                                rank: ${settings.cuda_env.global_rank}
                                num_replicas: ${settings.cuda_env.world_size}
                    """,
                with: sampler + """

                                dataset:
                                  instance_key: train_dataset
                                  pass_type: BY_REFERENCE
                    """
            )
            .replacingOccurrences(
                of: """
                              variant_key: distributed_sampler
                              config:
                                rank: ${settings.cuda_env.global_rank}
                                num_replicas: ${settings.cuda_env.world_size}
                    """,
                with: sampler
            )
    }

    /// The command line that starts `arguments` on this run's ranks.
    func command(_ arguments: [String]) -> [String] {
        ranks == 1
            ? arguments : ["launch", "--nproc_per_node", String(ranks), "--master_port", DistributedLaunchTests.port(), "--"] + arguments
    }

    /// The one-rank run of the global batch of 2 × 2 sequences that the multi-rank runs are compared with: trained
    /// once per test process (the same config and operations give the same numbers every time).
    static func oneRankTrajectory() throws -> [Int: (loss: Double, norm: Double)] {
        try oneRank.withLock { cached in
            if let cached { return try cached.get() }
            let result = Result { try DistributedRun(ranks: 1, microBatch: 2, accumulation: 2, engine: .replicated).losses() }
            cached = result
            return try result.get()
        }
    }

    private static let oneRank = Mutex<Result<[Int: (loss: Double, norm: Double)], any Error>?>(nil)

    /// Trains from scratch (experiment id `run`) and returns the logged losses and gradient norms by step.
    func losses() throws -> [Int: (loss: Double, norm: Double)] {
        let path = root + "/config.yaml"
        try config().write(toFile: path, atomically: true, encoding: .utf8)
        try launch(
            ["run", "--config_file_path", path, "--experiments_root_path", root, "--experiment_id", "run", "--device", "cpu"]
                + (stopAfterSteps.map { ["--stop_after_steps", String($0)] } ?? []))
        return try Self.records(root + "/run/evaluation_results.jsonl")
    }

    /// Continues from `checkpoint` (a checkpoint folder) with the warmstart config and returns what it logged.
    func warmstart(from checkpoint: String) throws -> [Int: (loss: Double, norm: Double)] {
        let path = root + "/warmstart.yaml"
        try config(warmstart: true).write(toFile: path, atomically: true, encoding: .utf8)
        let info = root + "/info.json"
        try JSONSerialization.data(withJSONObject: ["checkpoint_folder_path": checkpoint]).write(to: URL(fileURLWithPath: info))
        try launch([
            "warmstart", "--config_file_path", path, "--experiments_root_path", root, "--last_checkpoint_info_file_path", info,
            "--device", "cpu",
        ])
        let experiment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: root).first {
                FileManager.default.fileExists(atPath: root + "/" + $0 + "/evaluation_results.jsonl")
            })
        return try Self.records(root + "/" + experiment + "/evaluation_results.jsonl")
    }

    /// The checkpoint folder written after `steps` steps.
    func checkpoint(afterSteps steps: Int) throws -> String {
        let folder = root + "/checkpoints"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.contains("-seen_steps_\(steps)-") })
        return folder + "/" + name
    }

    private func launch(_ arguments: [String]) throws {
        let (status, output) = try DistributedLaunchTests().launch(command(arguments))
        #expect(status == 0, "\(output.suffix(3000))")
    }

    static func records(_ path: String) throws -> [Int: (loss: Double, norm: Double)] {
        var losses: [Int: (Double, Double)] = [:]
        for record in try TrainingJobTests().trainRecords(path) {
            losses[record.key] = (
                (record.value["losses"] as! [String: Double])["train loss avg"]!,
                (record.value["metrics"] as! [String: Any])["grad norm last"] as! Double
            )
        }
        return losses
    }

    /// Every step of `actual` has `expected`'s loss within 1e-5 relative and its gradient norm within `normTolerance`.
    static func expectSameTrajectory(
        _ actual: [Int: (loss: Double, norm: Double)], _ expected: [Int: (loss: Double, norm: Double)],
        _ label: String, normTolerance: Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!actual.isEmpty, "\(label): nothing logged", sourceLocation: sourceLocation)
        for (step, value) in actual.sorted(by: { $0.key < $1.key }) {
            guard let reference = expected[step] else {
                Issue.record("\(label): step \(step) is not in the reference", sourceLocation: sourceLocation)
                continue
            }
            #expect(
                Swift.abs(value.loss - reference.loss) <= 1e-5 * reference.loss,
                "\(label), step \(step): loss \(value.loss) vs \(reference.loss)", sourceLocation: sourceLocation)
            #expect(
                Swift.abs(value.norm - reference.norm) <= normTolerance * reference.norm,
                "\(label), step \(step): grad norm \(value.norm) vs \(reference.norm)", sourceLocation: sourceLocation)
        }
    }
}
