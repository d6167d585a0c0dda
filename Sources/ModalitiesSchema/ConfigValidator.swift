import Config

/// The whole pipeline behind `modalities config validate`: load, interpolate, check every component and, for
/// training configs, the `settings` block and its consistency rules. Every problem is reported at once.
public struct ConfigValidator {
    public var registry: ComponentRegistry
    public var environment: ResolverEnvironment
    public var log: (String) -> Void
    /// Samples in the training dataset, for the check that it holds the target tokens; the component library
    /// that knows datasets supplies it (the config system does not).
    public var trainingDatasetSamples: ((ObjectGraph) throws -> Int?)?
    /// Handed to the graph it builds, for the factories (a training job's run context).
    public var buildEnvironment = BuildEnvironment()

    public init(registry: ComponentRegistry, environment: ResolverEnvironment, log: @escaping (String) -> Void = { _ in }) {
        self.registry = registry
        self.environment = environment
        self.log = log
    }

    /// What validation found.
    public struct Result {
        public var resolved: ConfigNode
        public var graph: ObjectGraph
        public var model: InstantiationModel
        public var settings: TrainingSettings?
        /// Warnings only (errors are thrown).
        public var warnings: [ConfigIssue]
    }

    /// Validates the file at `path` for `model` (inferred from its keys when nil).
    /// - Throws: ``ConfigError`` with every error (and warning) found.
    public func validate(file path: String, for model: InstantiationModel? = nil) throws -> Result {
        try validate(ConfigLoader.load(file: path), for: model)
    }

    public func validate(_ root: ConfigNode, for model: InstantiationModel? = nil) throws -> Result {
        let model = model ?? InstantiationModel.inferred(from: root)
        var environment = self.environment
        if model == .warmstart && environment.warmstartCheckpointPaths == nil {
            environment.warmstartCheckpointPaths = []
        }
        // An interpolation that fails leaves its value unknown and validation goes on, so the config's other problems
        // are reported beside it.
        let (resolved, interpolationIssues) = ConfigInterpolator(environment: environment, log: log).resolveKeepingGoing(root)
        let graph = ObjectGraph(root: resolved, registry: registry, environment: buildEnvironment)
        for issue in interpolationIssues.issues { graph.issues.add(issue) }
        for key in model.requiredKeys where resolved[key] == nil {
            var message = "missing required top-level key '\(key)' for \(model.rawValue)"
            if let suggestion = closestMatch(to: key, in: resolved.keys) { message += "; did you mean '\(suggestion)'?" }
            graph.issues.add(.missingKey, message, at: resolved.location, keyPath: key)
        }
        var settings: TrainingSettings?
        if model == .run || model == .warmstart, let settingsNode = resolved["settings"] {
            let problemsBefore = graph.issues.count
            settings = graph.decode(TrainingSettings.self, from: settingsNode, keyPath: "settings")
            // Consistency rules on stand-in values would only repeat problems already reported.
            if let settings, graph.issues.count == problemsBefore {
                for issue in settings.consistencyIssues(at: settingsNode.location) { graph.issues.add(issue) }
                checkDatasetSize(settings, graph: graph, at: resolved["train_dataset"]?.location ?? settingsNode.location)
            }
        }
        do {
            try graph.validate(keys: resolved.keys.filter { $0 != "settings" || settings == nil })
        } catch let error as ConfigError {
            throw ConfigError(error.issues.sorted(by: ConfigValidator.fileOrder))
        }
        return Result(
            resolved: resolved, graph: graph, model: model, settings: settings,
            warnings: graph.problems.filter { $0.severity == .warning })
    }

    /// Modalities' rule: the training dataset must hold the target tokens (an error unless
    /// `consistency_enforcement.enforce_enough_tokens_in_dataset` is false, as main allows, then a warning).
    private func checkDatasetSize(_ settings: TrainingSettings, graph: ObjectGraph, at location: SourceLocation) {
        guard let samplesOf = trainingDatasetSamples else { return }
        do {
            guard let samples = try samplesOf(graph) else { return }
            let tokens = samples * settings.stepProfile.sequenceLength
            if tokens < settings.trainingTarget.numTargetTokens {
                graph.issues.add(
                    ConfigIssue(
                        .consistency,
                        "not enough tokens in the training dataset: \(samples) samples × sequence length \(settings.stepProfile.sequenceLength) = \(tokens), the target needs \(settings.trainingTarget.numTargetTokens)",
                        at: location, keyPath: "train_dataset",
                        severity: settings.consistencyEnforcement.enforceEnoughTokensInDataset ? .error : .warning))
            }
        } catch let error as ConfigError {
            for issue in error.issues { graph.issues.add(issue) }
        } catch let error as ComponentBuildError {
            graph.issues.add(
                ConfigIssue(.invalidValue, "\(error.component) failed: \(error.message)", at: error.location, keyPath: error.keyPath))
        } catch {
            graph.issues.add(
                ConfigIssue(.invalidValue, "reading the training dataset failed: \(error)", at: location, keyPath: "train_dataset"))
        }
    }

    /// Reads and checks only the training `settings` of a config (number conversions inside are evaluated).
    ///
    /// - Returns: the settings and the consistency warnings.
    /// - Throws: ``ConfigError`` with every error in the settings block.
    public func trainingSettings(_ root: ConfigNode) throws -> (settings: TrainingSettings, warnings: [ConfigIssue]) {
        let resolved = try ConfigInterpolator(environment: environment, log: log).resolve(root)
        let graph = ObjectGraph(root: resolved, registry: registry, environment: buildEnvironment)
        guard let node = resolved["settings"] else {
            throw ConfigError(
                ConfigIssue(.missingKey, "missing required top-level key 'settings'", at: resolved.location, keyPath: "settings"))
        }
        let settings = graph.decode(TrainingSettings.self, from: node, keyPath: "settings")
        graph.flushUnknownKeys()
        if let settings, !graph.issues.hasErrors {
            for issue in settings.consistencyIssues(at: node.location) { graph.issues.add(issue) }
        }
        try graph.issues.throwIfErrors()
        guard let settings else { throw ConfigError(graph.problems) }
        return (settings, graph.problems.filter { $0.severity == .warning })
    }

    static func fileOrder(_ a: ConfigIssue, _ b: ConfigIssue) -> Bool {
        (a.location.line, a.location.column) < (b.location.line, b.location.column)
    }
}
