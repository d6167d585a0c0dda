// swift-tools-version:6.1
import PackageDescription

// The C ABI shim (shim/) is built by `make shim` into .build/shim as a shared library of its own, so another
// machine can rebuild it against its libtorch without rebuilding Swift code. Binaries find it next to
// themselves first ($ORIGIN), then in this checkout's .build/shim.
let shimDirectory = Context.packageDirectory + "/.build/shim"
let linkShim: [LinkerSetting] = [
    .unsafeFlags([
        "-L\(shimDirectory)",
        "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN",
        "-Xlinker", "-rpath", "-Xlinker", shimDirectory,
    ])
]

let package = Package(
    name: "modalities",
    products: [
        .executable(name: "modalities", targets: ["ModalitiesCLI"]),
        .library(name: "Torch", targets: ["Torch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Engine binding: the C header of the shim, then Swift tensors over it.
        .systemLibrary(name: "CTorch", path: "Sources/CTorch"),
        .target(name: "Torch", dependencies: ["CTorch"], linkerSettings: linkShim),

        // Config system: Modalities-compatible YAML, interpolation, registry, validated object graph.
        .target(name: "Config", dependencies: [.product(name: "Yams", package: "Yams")]),
        // Jinja: the Jinja2 template language as chat templates use it (Python Jinja2's output, byte for byte).
        .target(name: "Jinja"),
        // Instruction tuning: chat templates applied to conversations, Modalities' seeded train/val/test split.
        .target(name: "InstructionTuning", dependencies: ["Jinja", "Config", "DataFormats"]),
        // Tokenizers: byte-level BPE (tokenizer.json, vocab+merges, tiktoken ranks) with identical ids.
        // Optimised in debug builds too: the test suite encodes whole corpora against golden files, 5× faster so.
        .target(name: "Tokenizers", swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),

        // Data formats: Modalities' .idx/.pbin files (restricted pickle), JSONL indexing and packing.
        .target(name: "DataFormats", dependencies: ["Tokenizers"]),

        // Datasets, samplers, collators and the data loader.
        .target(name: "DataLoading", dependencies: ["Torch", "DataFormats", "Tokenizers", "CImageCodec"], linkerSettings: linkShim),
        // CImageCodec: PNG and JPEG files through libpng and libjpeg (Debian's libpng-dev and libjpeg-dev), for image datasets.
        .target(
            name: "CImageCodec", path: "Sources/CImageCodec", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        // Models: Modalities' GPT2LLM family (GPT-2 and Llama forms).
        .target(name: "Models", dependencies: ["Torch"], linkerSettings: linkShim),

        // Interop: safetensors and Hugging Face model folders.
        .target(name: "Interop", dependencies: ["Torch", "Models", "DataFormats", "CZlib"], linkerSettings: linkShim),

        // Distributed: the device mesh (process groups and sharding follow).
        .target(name: "Distributed", dependencies: ["Torch", "CTorch"], linkerSettings: linkShim),

        // Observability: result records, progress and result subscribers, MFU.
        .target(name: "Observability", dependencies: [.product(name: "Logging", package: "swift-log")]),

        // Parallelism: the model wrappers that spread a model over ranks (DDP, FSDP, hybrid sharding) and mixed precision.
        .target(name: "Parallelism", dependencies: ["Torch", "Models", "Distributed"], linkerSettings: linkShim),

        // Profiling: steppable profilers on torch.profiler's schedule (Kineto traces, per-operator summaries).
        .target(name: "Profiling", dependencies: ["Torch", "DataFormats"], linkerSettings: linkShim),

        // Training: the SPMD driver (gym, trainer, evaluator), optimizers, schedules, clipping.
        .target(name: "Training", dependencies: ["Torch", "Models", "DataLoading", "Distributed", "Parallelism", "Observability", "Profiling"], linkerSettings: linkShim),

        // Ablations: sweep generation, a resumable sweep runner and the comparison report.
        // Modalities' top-level schema: which keys each command builds, the training `settings` block and its
        // consistency rules, and the validator that checks a whole config against them (the Config engine is generic).
        .target(name: "ModalitiesSchema", dependencies: ["Config"]),
        .target(name: "Ablations", dependencies: ["Config", "Observability"]),
        // Planning: a run's memory, step time, MFU and GPU-hours before it is spent (`modalities plan`).
        .target(name: "Planning"),

        // Checkpoints: our documented format (safetensors shards + metadata), saving strategies, loading.
        .target(name: "Checkpointing", dependencies: ["Torch", "Models", "Training", "Distributed", "Parallelism", "Interop", "DataFormats", "Observability"], linkerSettings: linkShim),

        // The built-in component table (one place lists them all) and components with no other home yet.
        .target(name: "Components", dependencies: ["Config", "ModalitiesSchema", "Tokenizers", "DataFormats", "DataLoading", "Models", "Training", "Observability",
                                                   "Checkpointing", "Interop", "Distributed", "Parallelism", "Profiling", "Torch"],
                linkerSettings: linkShim),

        // Launcher: turns a training config into a running experiment (`run`, `warmstart`).
        .target(name: "Launcher", dependencies: ["Ablations", "Components", "Config", "ModalitiesSchema", "Checkpointing", "DataFormats", "Interop", "DataLoading", "Distributed", "Models",
                                                 "Observability", "Parallelism", "Planning", "Profiling", "Tokenizers", "Training", "CProcessControl", .product(name: "Logging", package: "swift-log")],
                linkerSettings: linkShim),

        // The `modalities` command.
        .executableTarget(
            name: "ModalitiesCLI",
            dependencies: ["Torch", "Config", "ModalitiesSchema", "Components", "Distributed", "Launcher", "Observability", "Tokenizers", "DataFormats", "Models", "Interop",
                           "Ablations", "Parallelism", "InstructionTuning", "Jinja", "Profiling", "Planning",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")],
            linkerSettings: linkShim
        ),

        // Shows how an application registers its own component and builds a config that uses it.
        .executableTarget(name: "CustomComponentExample", dependencies: ["Config", "Components"],
                          path: "Examples/CustomComponent", exclude: ["schedule.yaml"]),

        .executableTarget(name: "TorchBenchmarks", dependencies: ["Torch"], path: "Benchmarks/TorchBenchmarks",
                          linkerSettings: linkShim),
        .executableTarget(name: "LoaderBenchmarks", dependencies: ["DataLoading"], path: "Benchmarks/LoaderBenchmarks",
                          linkerSettings: linkShim),
        .executableTarget(name: "TrainingBenchmarks", dependencies: ["DataLoading", "Models", "Profiling", "Training", "Torch"],
                          path: "Benchmarks/TrainingBenchmarks", linkerSettings: linkShim),
        .executableTarget(name: "PackBenchmarks", dependencies: ["DataFormats", "Tokenizers"], path: "Benchmarks/PackBenchmarks"),
        .executableTarget(name: "TokenizerBenchmarks", dependencies: ["Tokenizers"], path: "Benchmarks/TokenizerBenchmarks"),
        // Shared by the test targets: where the test assets are.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TorchTests", dependencies: ["Torch"], linkerSettings: linkShim),
        .testTarget(name: "InstructionTuningTests", dependencies: ["TestSupport", "InstructionTuning", "Config", "Jinja"], exclude: ["Golden"]),
        .testTarget(name: "ProfilingTests", dependencies: ["Profiling", "Torch", "DataFormats"], linkerSettings: linkShim),
        .testTarget(name: "PlanningTests", dependencies: ["TestSupport", "Planning"]),
        .testTarget(name: "JinjaTests", dependencies: ["Jinja"], exclude: ["Golden"]),
        .testTarget(name: "TokenizersTests", dependencies: ["TestSupport", "Tokenizers"], exclude: ["Golden"]),
        .testTarget(name: "DataFormatsTests", dependencies: ["TestSupport", "DataFormats", "Tokenizers"]),
        .testTarget(name: "DataLoadingTests", dependencies: ["TestSupport", "DataLoading", "DataFormats", "Torch"], linkerSettings: linkShim),
        .testTarget(name: "ModelsTests", dependencies: ["TestSupport", "Models", "Torch", "Training"], exclude: ["Golden"], linkerSettings: linkShim),
        .testTarget(name: "InteropTests", dependencies: ["TestSupport", "Interop", "Models", "Torch"], exclude: ["Golden", "Configs"],
                    linkerSettings: linkShim),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "DataLoading", "Distributed", "Observability", "Parallelism", "Torch"], exclude: ["Golden"],
                    linkerSettings: linkShim),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Torch"], linkerSettings: linkShim),
        .testTarget(name: "ParallelismTests", dependencies: ["TestSupport", "Parallelism", "Models", "Distributed", "Torch"], linkerSettings: linkShim),
        .testTarget(name: "ObservabilityTests", dependencies: ["Observability"], exclude: ["Golden"]),
        .testTarget(name: "CheckpointingTests", dependencies: ["Checkpointing", "Training", "Models", "Interop", "Torch"], exclude: ["Golden"],
                    linkerSettings: linkShim),
        .testTarget(name: "LauncherTests", dependencies: ["TestSupport", "Ablations", "DataFormats", "DataLoading", "Launcher", "ModalitiesSchema", "Checkpointing", "Interop", "Models", "Observability", "Training",
                                                         "Torch",
                                                         .product(name: "Logging", package: "swift-log")],
                    exclude: ["Configs"], linkerSettings: linkShim),
        .testTarget(name: "ComponentsTests", dependencies: ["TestSupport", "Components", "Config", "ModalitiesSchema", "Distributed", "Tokenizers", "DataLoading", "Models",
                                                           "Training", "Torch"],
                    linkerSettings: linkShim),
        // CProcessControl: the one Linux call Swift cannot make (prctl is variadic), for ranks that die with their launcher.
        .target(name: "CProcessControl", path: "Sources/CProcessControl"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .testTarget(name: "AblationsTests", dependencies: ["TestSupport", "Ablations", "Config", "CZlib"], exclude: ["Configs"]),
        .testTarget(name: "ConfigTests", dependencies: ["TestSupport", "Config", "ModalitiesSchema", "Components"], exclude: ["BrokenConfigs", "Configs"]),
    ]
)
