import CProcessControl
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a rank started by ``RankLauncher`` does first: it arranges to be killed when its launcher dies (SIGKILL
/// included, which the launcher cannot catch to stop its ranks), so no rank outlives the job.
public enum LaunchedRank {
    /// The variable the launcher sets to its own process id in each rank's environment.
    public static let launcherVariable = "MODALITIES_LAUNCHER_PID"

    /// In a launched rank (`environment` names its launcher): SIGKILL when the parent dies; if the launcher is
    /// already gone, exits at once. Elsewhere nothing happens.
    public static func dieWithLauncher(environment: [String: String]) {
        guard let text = environment[launcherVariable], let launcher = pid_t(text) else { return }
        _ = modalities_set_parent_death_signal(SIGKILL)
        // The launcher may have died between starting this process and the call above.
        if getppid() != launcher {
            FileHandle.standardError.write(Data("rank: its launcher (pid \(launcher)) is gone; exiting\n".utf8))
            exit(1)
        }
    }
}
