import Config
import DataLoading
import ModalitiesSchema

extension ConfigValidator {
    /// The validator of `modalities config validate`: the built-in components, and the training dataset's size
    /// checked against the target tokens when its component can be built.
    public static func builtIn(environment: ResolverEnvironment, log: @escaping (String) -> Void = { _ in }) -> ConfigValidator {
        var validator = ConfigValidator(registry: .builtIn(), environment: environment, log: log)
        validator.trainingDatasetSamples = { graph in
            guard graph.root["train_dataset"] != nil else { return nil }
            return try graph.build("train_dataset", as: (any Dataset).self).count
        }
        return validator
    }
}
