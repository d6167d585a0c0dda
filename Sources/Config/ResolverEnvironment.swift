import Foundation

/// The facts that `${...}` resolvers read: paths, the launcher's environment, warmstart checkpoints.
public struct ResolverEnvironment: Sendable {
    /// The config file being read (for `${modalities_env:config_file_path}` and `config_folder_path`).
    public var configFilePath: String
    /// Where experiment folders go (`${modalities_env:experiments_root_path}`).
    public var experimentsRootPath: String
    /// This run's id (`${modalities_env:experiment_id}`).
    public var experimentID: String
    /// Process environment variables (`${oc.env:...}`, `${env:...}`, `${cuda_env:...}`).
    public var variables: [String: String]
    /// Present only under warmstart: `${warmstart_env:checkpoint_paths}` yields this mapping.
    public var warmstartCheckpointPaths: [(key: String, value: String)]?
    /// `${node_env:num_cpus}`.
    public var cpuCount: Int

    public init(
        configFilePath: String, experimentsRootPath: String? = nil, experimentID: String = "",
        variables: [String: String],
        warmstartCheckpointPaths: [(key: String, value: String)]? = nil,
        cpuCount: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.configFilePath = configFilePath
        self.experimentsRootPath = experimentsRootPath ?? FileManager.default.currentDirectoryPath + "/experiments"
        self.experimentID = experimentID
        self.variables = variables
        self.warmstartCheckpointPaths = warmstartCheckpointPaths
        self.cpuCount = cpuCount
    }

    /// The folder holding the config file.
    public var configFolderPath: String {
        // pathlib's parent: "." for a bare file name (an empty string would make "${...}/x" the root folder's x).
        let folder = (configFilePath as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
}
