import Distributed
import Foundation
import Interop
import Observability
import Parallelism
import Training

/// Writes checkpoints into `<checkpoint_path>/<folder name>` and records the newest in
/// `<checkpoint_path>/last_checkpoint_info.json` (`checkpoint_saving_execution/dcp`; the format is ours, see
/// ``CheckpointFormat``).
///
/// The info file is replaced only after the new checkpoint is complete, so a process killed at any moment leaves
/// the previous checkpoint named there and loadable.
public final class CheckpointWriter {
    public let checkpointPath: String
    public let experimentID: String
    public let globalRank: Int
    /// Extra metadata stored with every checkpoint (e.g. the resolved config).
    public var extraMetadata: [String: Any] = [:]

    /// The ranks that save together (they meet at a barrier once the files are written); nil on one rank.
    public let group: ProcessGroup?

    public init(checkpointPath: String, experimentID: String, globalRank: Int, group: ProcessGroup? = nil) {
        self.checkpointPath = checkpointPath
        self.experimentID = experimentID
        self.globalRank = globalRank
        self.group = group
    }

    public func folder(for progress: TrainingProgress) -> String {
        let name = CheckpointFolderName(
            experimentID: experimentID, seenSteps: progress.numSeenStepsTotal, seenTokens: progress.numSeenTokensTotal,
            targetSteps: progress.numTargetSteps, targetTokens: progress.numTargetTokens)
        return checkpointPath + "/" + name.text
    }

    public func save(_ appState: AppState, progress: TrainingProgress) throws {
        let folder = folder(for: progress)
        var extra = extraMetadata
        extra["experiment_id"] = experimentID
        let layout = ParameterLayout(of: appState.model)
        if layout.isDistributed {
            // One replica of the pieces (FSDP chunks, tensor-parallel slices) writes: each piece by the rank of
            // replica 0 holding it. Rank 0 writes the metadata once every piece is on disk.
            let writesShard = layout.writesPiece
            try CheckpointFormat.write(
                appState, progress: progress, to: folder, writeShard: writesShard, writeMetadata: false, extra: extra)
            // Under pipeline parallelism each rank knows its stages' parameters only: rank 0 learns the others'.
            let descriptions = layout.pipelineDegree > 1 ? try allParameterDescriptions(of: appState) : nil
            try group?.barrier()
            guard globalRank == 0 else { return }
            try CheckpointFormat.write(
                appState, progress: progress, to: folder, writeShard: false, writeMetadata: true, extra: extra,
                parameterDescriptions: descriptions)
        } else {
            // Whole models (one rank, or replicated data parallelism) are whole on rank 0, which writes them for everyone.
            guard globalRank == 0 else { return }
            try CheckpointFormat.write(appState, progress: progress, to: folder, extra: extra)
        }
        let absolute = URL(fileURLWithPath: folder).standardizedFileURL.path
        let info = try JSONSerialization.data(withJSONObject: ["checkpoint_folder_path": absolute], options: [.withoutEscapingSlashes])
        do {
            try AtomicFile.write(info, to: checkpointPath + "/" + CheckpointFormat.lastCheckpointInfoFile)
        } catch let error as InteropError {
            throw CheckpointError.unwritable(
                path: checkpointPath + "/" + CheckpointFormat.lastCheckpointInfoFile, reason: error.description)
        }
        removeUnfinishedCheckpoints(except: folder)
    }

    /// Every rank's parameter descriptions, each parameter once (in rank order), on every rank. Collective.
    private func allParameterDescriptions(of appState: AppState) throws -> [[String: Any]] {
        let local = try CheckpointFormat.parameterDescriptions(of: appState.model)
        guard let group else { return local }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: local), as: UTF8.self)
        var seen: Set<String> = []
        var all: [[String: Any]] = []
        for rankText in try group.allGatherText(text) {
            let entries = try JSONSerialization.jsonObject(with: Data(rankText.utf8)) as? [[String: Any]] ?? []
            for entry in entries {
                guard let name = entry["name"] as? String, seen.insert(name).inserted else { continue }
                all.append(entry)
            }
        }
        return all
    }

    /// Folders of this experiment that a killed save left without `metadata.json` (no reader accepts them): removed
    /// once a later save has completed, so they do not pile up. Only this experiment's run writes under its id.
    func removeUnfinishedCheckpoints(except current: String) {
        let prefix = "eid_\(experimentID)-seen_steps_"
        let currentName = URL(fileURLWithPath: current).lastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: checkpointPath) else { return }
        for name in names where name.hasPrefix(prefix) && name != currentName {
            let folder = checkpointPath + "/" + name
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue,
                !FileManager.default.fileExists(atPath: folder + "/" + CheckpointFormat.metadataFile)
            else { continue }
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    public func delete(_ progress: TrainingProgress) throws {
        guard globalRank == 0 else { return }
        let folder = folder(for: progress)
        guard FileManager.default.fileExists(atPath: folder) else {
            throw CheckpointError.unwritable(path: folder, reason: "the checkpoint to delete does not exist")
        }
        try FileManager.default.removeItem(atPath: folder)
    }
}
