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
        registry.registerMultimodalComponents()
        registry.registerTraining()
        registry.registerCheckpointing()
        registry.registerParallelismComponents()
        registry.registerPipelineComponents()
        registry.registerDebuggingComponents()
        registry.registerDebuggingEnrichedModel()
        registry.registerProfilingComponents()
        registry.registerObservability()
        registry.registerInference()
        for (componentKey, variantKey, feature) in plannedComponents {
            registry.registerPlanned(componentKey, variantKey, feature: feature)
        }
        return registry
    }
}

/// Modalities 0.5.0's registered pairs that this version does not build yet, with the feature each needs (none
/// left; a pair added to Modalities later goes here until it is built).
let plannedComponents: [(String, String, String)] = []
