import Config

extension ComponentRegistry {
    /// Every built-in component, in one table: the vocabulary of configs.
    ///
    /// Modalities' pairs that are not built yet are listed too, so a config using one gets an error that names
    /// the missing feature instead of "unknown component".
    public static func builtIn() -> ComponentRegistry {
        let registry = ComponentRegistry()
        registry.registerNumberConversions()
        registry.registerTokenizers()
        registry.registerDataLoading()
        registry.registerModels()
        registry.registerTraining()
        for (componentKey, variantKey, feature) in plannedComponents {
            registry.registerPlanned(componentKey, variantKey, feature: feature)
        }
        return registry
    }
}

/// Modalities 0.5.0's registered pairs that this version does not build yet, with the feature each needs.
let plannedComponents: [(String, String, String)] = {
    let training = "the training driver"
    let data = "datasets, samplers and the data loader"
    let models = "the GPT-2/Llama model family"
    let observability = "observability"
    let interop = "Modalities/PyTorch checkpoint interop"
    let mesh = "the device mesh and distributed training"
    let pipeline = "pipeline parallelism"
    let profiling = "profiling"
    return [
        ("app_state", "dcp", training), ("app_state", "raw", training),
        ("checkpoint_loading", "dcp", training), ("checkpoint_loading", "fsdp1", interop), ("checkpoint_loading", "torch", interop),
        ("checkpoint_saving", "default", training),
        ("checkpoint_saving_execution", "dcp", training), ("checkpoint_saving_execution", "fsdp1", training),
        ("checkpoint_saving_strategy", "save_every_k_steps_checkpointing_strategy", training),
        ("checkpoint_saving_strategy", "save_k_most_recent_checkpoints_strategy", training),
        ("collate_fn", "coca_collator", "CoCa multimodal models"),
        ("collate_fn", "mask_loss_collator_wrapper", "instruction tuning"),
        ("dataset_batch_generator", "random", profiling),
        ("debugging", "settings", "debugging tools"),
        ("device_mesh", "default", mesh),
        ("gradient_clipper", "fsdp1", training), ("gradient_clipper", "fsdp1_logging_only", training),
        ("gradient_clipper", "fsdp2", training), ("gradient_clipper", "fsdp2_logging_only", training),
        ("mfu_calculator", "gpt2", observability),
        ("model", "activation_checkpointed", "activation checkpointing"), ("model", "activation_checkpointed_fsdp1", "activation checkpointing"),
        ("model", "coca", "CoCa multimodal models"), ("model", "compiled", "compiled models (CUDA graphs)"),
        ("model", "debugging_enriched", "debugging tools"), ("model", "fsdp1_checkpointed", interop),
        ("model", "fsdp1_wrapped", "fully sharded data parallel (FSDP)"), ("model", "fsdp2_wrapped", "fully sharded data parallel (FSDP)"),
        ("model", "gpt2_tp", "tensor parallelism"),
        ("model", "huggingface_pretrained_model", "Hugging Face interop"),
        ("model_debugging_hook", "nan_hook", "debugging tools"), ("model_debugging_hook", "print_forward_hook", "debugging tools"),
        ("model_initialization", "gpt2_llama3_like", models),
        ("number_conversion", "parallel_degree", mesh),
        ("optimizer", "fsdp1_checkpointed", interop),
        ("pipeline", "builder", pipeline), ("pipeline", "scheduled", pipeline), ("pipeline", "selector", pipeline),
        ("pipeline", "staged", pipeline),
        ("progress_subscriber", "dummy", observability), ("progress_subscriber", "rich", observability),
        ("results_subscriber", "dummy", observability), ("results_subscriber", "rich", observability),
        ("results_subscriber", "to_disc", observability), ("results_subscriber", "wandb", observability),
        ("sampler", "resumable_distributed_multi_dim_sampler", "tensor/pipeline parallelism"),
        ("scheduler", "linear_warmup_cosine_annealing_lr", training),
        ("stages_generator", "gpt2_stages_generator", pipeline),
        ("steppable_component", "forward_pass", profiling),
        ("steppable_profiler", "combined", profiling), ("steppable_profiler", "kernel_tracing", profiling),
        ("steppable_profiler", "memory_tracing", profiling), ("steppable_profiler", "no_profiler", profiling),
    ]
}()
