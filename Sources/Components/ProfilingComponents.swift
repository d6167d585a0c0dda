import Config
import DataLoading
import Foundation
import Models
import Profiling
import Torch
import Training

/// Modalities' profiling components: steppable profilers (`steppable_profiler/*`), the steppable component they
/// measure (`steppable_component/forward_pass`) and its batches (`dataset_batch_generator/random`).
struct KernelTracingConfig: DeclaredConfig {
    enum Activity: String, ConfigEnum { case CPU, CUDA }

    @Field("num_wait_steps") var numWaitSteps: NonNegativeInt
    @Field("num_warmup_steps") var numWarmupSteps: NonNegativeInt
    @Field("num_active_steps") var numActiveSteps: NonNegativeInt
    @Field("profiler_activities") var profilerActivities: [Activity]
    @Field("profile_memory") var profileMemory: Bool
    @Field("record_shapes") var recordShapes: Bool
    @Field("with_flops") var withFlops: Bool
    @Field("with_stack") var withStack: Bool
    @Field("with_modules") var withModules: Bool
    @Field("output_folder_path") var outputFolderPath: String
    /// The ranks that record; the others step a profiler that does nothing (none: no rank records).
    @Field("tracked_ranks") var trackedRanks: [Int]? = nil
}

struct MemoryTracingConfig: DeclaredConfig {
    @Field("memory_snapshot_folder_path") var memorySnapshotFolderPath: String
    @Field("num_wait_steps") var numWaitSteps: NonNegativeInt
    @Field("num_warmup_steps") var numWarmupSteps: NonNegativeInt
    @Field("num_active_steps") var numActiveSteps: NonNegativeInt
    /// The ranks that record; the others step a profiler that does nothing (none: no rank records).
    @Field("tracked_ranks") var trackedRanks: [Int]? = nil
}

struct CombinedProfilerConfig: DeclaredConfig {
    @Field("profilers") var profilers: [ComponentSlot<any SteppableProfiler>]
}

struct NoProfilerConfig: DeclaredConfig {}

struct ForwardPassConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("dataset_batch_generator") var datasetBatchGenerator: ComponentSlot<RandomBatchGenerator>
    @Field("loss_fn") var loss: ComponentSlot<any Loss>? = nil
    @Field("optimizer") var optimizer: ComponentSlot<any Optimizer>? = nil
}

struct SteppableNormConfig: DeclaredConfig {
    @Field("norm") var norm: ComponentSlot<Normalization>
    @Field("dataset_batch_generator") var datasetBatchGenerator: ComponentSlot<RandomBatchGenerator>
}

struct RandomBatchGeneratorConfig: DeclaredConfig {
    enum DataType: String, ConfigEnum { case int64, float32, bfloat16 }

    /// The batch shape, in the order written (`batch_size`, then `sequence_length`, as Modalities' dict keeps it).
    struct Dimensions: Decodable, Sendable {
        var sizes: [Int]

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            sizes = try container.allKeys.map { try container.decode(Int.self, forKey: $0) }
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    @Field("dims") var dims: Dimensions
    @Field("data_type") var dataType: DataType
    @Field("min_val") var minVal: Int
    @Field("max_val") var maxVal: Int
}

extension ComponentRegistry {
    func registerProfilingComponents() {
        register(
            "steppable_profiler", "kernel_tracing",
            summary: "libtorch's profiler on a wait/warm-up/active schedule: a Chrome-trace JSON and an operator summary per tracked rank",
            config: KernelTracingConfig.self, produces: [(any SteppableProfiler).self]
        ) { config, context -> any SteppableProfiler in
            let run = context.run
            let schedule = ProfilerSchedule(
                waitSteps: config.numWaitSteps.value, warmupSteps: config.numWarmupSteps.value, activeSteps: config.numActiveSteps.value)
            guard (config.trackedRanks ?? []).contains(run.rank) else { return NoProfiler(stepCount: schedule.totalSteps) }
            let wantsCUDA = config.profilerActivities.contains(.CUDA)
            if wantsCUDA && run.device == .cpu {
                Self.warn(
                    "steppable_profiler/kernel_tracing: profiler_activities has CUDA but rank \(run.rank) computes on the CPU; tracing the CPU only"
                )
            }
            let options = KinetoTrace.Options(
                cpu: config.profilerActivities.contains(.CPU) || run.device == .cpu, cuda: wantsCUDA && run.device != .cpu,
                recordShapes: config.recordShapes, profileMemory: config.profileMemory, withStack: config.withStack,
                withFLOPs: config.withFlops, withModules: config.withModules)
            let folder = config.outputFolderPath
            return KernelTracingProfiler(
                schedule: schedule, options: options,
                traceFile: folder + "/profiler_trace_ranks_\(run.worldSize)_rank_\(run.rank).json",
                summaryFile: folder + "/profiler_summary_ranks_\(run.worldSize)_rank_\(run.rank).txt",
                log: { Self.warn("rank \(run.rank): " + $0) })
        }
        register(
            "steppable_profiler", "memory_tracing",
            summary:
                "the allocator's history over the active steps as a memory_viz snapshot per tracked rank (CUDA's own on a GPU, the CPU allocator's otherwise)",
            config: MemoryTracingConfig.self, produces: [(any SteppableProfiler).self]
        ) { config, context -> any SteppableProfiler in
            let run = context.run
            let schedule = ProfilerSchedule(
                waitSteps: config.numWaitSteps.value, warmupSteps: config.numWarmupSteps.value, activeSteps: config.numActiveSteps.value)
            guard (config.trackedRanks ?? []).contains(run.rank) else { return NoProfiler(stepCount: schedule.totalSteps) }
            return MemoryTracingProfiler(
                schedule: schedule, device: run.device,
                snapshotFile: config.memorySnapshotFolderPath + "/memory_snapshot_ranks_\(run.worldSize)_rank_\(run.rank).pkl",
                log: { Self.warn("rank \(run.rank): " + $0) })
        }
        register(
            "steppable_profiler", "no_profiler", summary: "a profiler that records nothing",
            config: NoProfilerConfig.self, produces: [(any SteppableProfiler).self]
        ) { _, _ -> any SteppableProfiler in NoProfiler() }
        register(
            "steppable_profiler", "combined", summary: "several profilers stepped together, for as many steps as the longest needs",
            config: CombinedProfilerConfig.self, produces: [(any SteppableProfiler).self]
        ) { config, context -> any SteppableProfiler in
            CombinedProfiler(try config.profilers.map { try context.build($0) })
        }
        register(
            "steppable_component", "forward_pass",
            summary: "a forward pass on a generated batch; with loss_fn its backward pass, with optimizer an optimizer step",
            config: ForwardPassConfig.self, produces: [(any SteppableComponent).self]
        ) { config, context -> any SteppableComponent in
            SteppableForwardPass(
                model: try context.build(config.model), batches: try context.build(config.datasetBatchGenerator),
                loss: try config.loss.map { try context.build($0) }, optimizer: try config.optimizer.map { try context.build($0) })
        }
        register(
            "steppable_component", "steppable_norm",
            summary: "a normalisation layer on each generated batch's input_ids, without gradients (the profiling tutorial's component)",
            config: SteppableNormConfig.self, produces: [(any SteppableComponent).self]
        ) { config, context -> any SteppableComponent in
            SteppableNorm(norm: try context.build(config.norm), batches: try context.build(config.datasetBatchGenerator))
        }
        register(
            "dataset_batch_generator", "random", summary: "random input_ids and target_ids of the shape dims lists, on the rank's device",
            config: RandomBatchGeneratorConfig.self, produces: [RandomBatchGenerator.self]
        ) { config, context in
            try RandomBatchGenerator(
                shape: config.dims.sizes, elementType: RandomBatchGenerator.ElementType(rawValue: config.dataType.rawValue) ?? .int64,
                minimum: config.minVal, maximum: config.maxVal, device: context.run.device)
        }
    }

    /// A warning on standard error (the profilers run below the logging of the job).
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }
}
