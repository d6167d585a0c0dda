import Models

/// What a step's gradients need between the last backward and clipping, whatever the layout.
public enum GradientSynchronization {
    /// The data-parallel reductions still pending (DDP's buckets, FSDP's last reduce-scatters), then, for each
    /// tensor-parallel model (each pipeline part), the one all-reduce of its sequence-parallel parameters' gradients.
    public static func finish(_ model: any Model) throws {
        try (model as? GradientSynchronizing)?.synchronizeGradients()
        for part in (model as? PipelineModelParts)?.parts ?? [model] {
            try part.unwrapped(as: GPT2LLM.self)?.sumSequenceParallelGradients(of: part.parameters)
        }
    }
}
