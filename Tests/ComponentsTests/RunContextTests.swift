import Components
import Config
import DataLoading
import Distributed
import Foundation
import Models
import Observability
import Testing

/// Components learn where they run from the run context the graph was given, not from the process environment.
struct RunContextTests {
    func graph(_ yaml: String, run: RunContext?) throws -> ObjectGraph {
        let root = try ConfigInterpolator(
            environment: ResolverEnvironment(configFilePath: "run.yaml", variables: ["DATA": TokenizerComponentTests.data])
        )
        .resolve(ConfigLoader.parse(yaml, file: "run.yaml"))
        return ObjectGraph(root: root, registry: .builtIn(), environment: run.map(BuildEnvironment.init(run:)) ?? BuildEnvironment())
    }

    /// Modalities writes evaluation_results.jsonl on global rank 0 only; the rank comes from the context.
    @Test(arguments: [nil, 0, 1])
    func resultsGoToDiskOnRankZeroOfTheContext(rank: Int?) throws {
        let folder = NSTemporaryDirectory() + "run-context-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/evaluation_results.jsonl"
        let graph = try graph(
            """
            evaluation_subscriber:
              component_key: results_subscriber
              variant_key: to_disc
              config: {output_file_path: \(path)}
            """, run: rank.map { RunContext(rank: $0, worldSize: 2) })
        _ = try graph.build("evaluation_subscriber", as: (any ResultSubscriber).self)
        #expect(FileManager.default.fileExists(atPath: path) == ((rank ?? 0) == 0), "rank \(String(describing: rank))")
    }

    /// A config for two data-parallel ranks, built in a context that has no group of ranks, says how to start them.
    @Test func dataParallelismWithoutAGroupNamesTheLaunchers() throws {
        let yaml =
            ModelComponentTests.yaml + """

                device_mesh:
                  component_key: device_mesh
                  variant_key: default
                  config: {device_type: cpu, data_parallel_shard_degree: 2, world_size: 2}
                ddp_model:
                  component_key: model
                  variant_key: ddp_wrapped
                  config:
                    model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    device_mesh: {instance_key: device_mesh, pass_type: BY_REFERENCE}
                """
        let graph = try graph(yaml, run: RunContext(rank: 0, worldSize: 2))
        let error = #expect(throws: (any Error).self) { try graph.build("ddp_model", as: (any Model).self) }
        #expect("\(error!)".contains("use modalities launch, torchrun or srun"), "\(error!)")
    }
}

/// `sampler/resumable_distributed_multi_dim_sampler`: rank and replica count come from one dimension of the mesh.
struct MultiDimensionalSamplerTests {
    func indices(rank: Int, worldSize: Int = 4, meshWorldSize: Int = 4) throws -> [Int] {
        let yaml = """
            mesh:
              component_key: device_mesh
              variant_key: default
              config: {device_type: cpu, data_parallel_shard_degree: 2, tensor_parallel_degree: 2, world_size: \(meshWorldSize)}
            data:
              component_key: dataset
              variant_key: dummy_dataset
              config:
                num_samples: 10
                sample_definition: [{sample_key: input_ids, sample_shape: [4], sample_type: int}]
            sampler:
              component_key: sampler
              variant_key: resumable_distributed_multi_dim_sampler
              config:
                dataset: {instance_key: data, pass_type: BY_REFERENCE}
                device_mesh: {instance_key: mesh, pass_type: BY_REFERENCE}
                data_parallel_key: dp_shard
                shuffle: true
                seed: 42
                skip_num_global_samples: 2
            """
        let graph = try RunContextTests().graph(yaml, run: RunContext(rank: rank, worldSize: worldSize))
        return try graph.build("sampler", as: (any Sampler).self).indices()
    }

    @Test func theRanksOfATensorParallelGroupReadTheSameSamples() throws {
        // dp_shard 2 × tp 2: ranks 0 and 1 hold dp_shard coordinate 0, ranks 2 and 3 coordinate 1.
        let perRank = try (0..<4).map { try indices(rank: $0) }
        #expect(perRank[0] == perRank[1] && perRank[2] == perRank[3])
        #expect(Set(perRank[0]).isDisjoint(with: perRank[2]))
        // Two replicas over the 8 samples left after skipping 2: four each, every one of them visited once.
        #expect(perRank[0].count == 4 && Set(perRank[0] + perRank[2]).count == 8)
    }

    @Test func aMeshForAnotherWorldIsRefused() throws {
        let error = #expect(throws: (any Error).self) { try indices(rank: 0, worldSize: 2) }
        #expect("\(error!)".contains("the device mesh spans 4 ranks, the job has 2"), "\(error!)")
    }
}

/// `model/gpt2_tp`'s checks, made before any rank is contacted: as Modalities' `GPT2ModelTPConfig`, the mesh must
/// have a tp dimension and no replicated data parallelism.
struct TensorParallelComponentTests {
    func error(replicate: Int, shard: Int, tensorParallel: Int) throws -> String {
        let world = replicate * shard * tensorParallel
        let yaml =
            ModelComponentTests.yaml + """

                device_mesh:
                  component_key: device_mesh
                  variant_key: default
                  config:
                    device_type: cpu
                    data_parallel_replicate_degree: \(replicate)
                    data_parallel_shard_degree: \(shard)
                    tensor_parallel_degree: \(tensorParallel)
                    world_size: \(world)
                tp_model:
                  component_key: model
                  variant_key: gpt2_tp
                  config:
                    model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    device_mesh: {instance_key: device_mesh, pass_type: BY_REFERENCE}
                """
        let graph = try RunContextTests().graph(yaml, run: RunContext(rank: 0, worldSize: world))
        let error = #expect(throws: (any Error).self) { try graph.build("tp_model", as: (any Model).self) }
        return error.map { "\($0)" } ?? ""
    }

    @Test func aMeshWithoutATensorParallelDimensionIsRefused() throws {
        let message = try error(replicate: 1, shard: 2, tensorParallel: 1)
        #expect(message.contains("device_mesh has no tp dimension (tensor_parallel_degree is 1)"), "\(message)")
    }

    @Test func replicatedDataParallelismIsRefusedWithTheDegrees() throws {
        let message = try error(replicate: 2, shard: 1, tensorParallel: 2)
        #expect(
            message.contains("data_parallel_replicate_degree 2 cannot be used with tensor parallelism (tensor_parallel_degree 2)"),
            "\(message)")
    }

    @Test func aDegreeThatDoesNotDivideTheHeadsIsAConfigError() throws {
        // The model has 8 query heads and 4 kv heads: 8 ranks cannot split the kv heads. The check comes before any
        // rank is contacted, so this process (rank 0 of 8, no group) gets the error and not a launcher hint.
        let message = try error(replicate: 1, shard: 1, tensorParallel: 8)
        #expect(message.contains("n_head_kv (4) must be divisible by the tensor-parallel degree (8); 4 / 8 = 0.5"), "\(message)")
    }
}
