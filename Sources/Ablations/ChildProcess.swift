import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A command started in a process group of its own, its output appended to a log file, so that it and everything
/// it starts (a launcher's ranks) can be stopped together.
struct ChildProcess {
    let pid: pid_t

    /// Starts `executable` with `arguments`; stdout and stderr go to the end of `logPath`.
    static func start(_ executable: String, _ arguments: [String], logPath: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, default signal actions (the runner ignores SIGINT/SIGTERM to handle them) and no
        // blocked signals (a mask inherited from the runner's caller would keep SIGTERM from stopping it).
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else { throw SweepError.invalid(executable, "cannot start: \(String(cString: strerror(status)))") }
        return ChildProcess(pid: pid)
    }

    /// Sends `signal` to the child's whole process group.
    static func signalGroup(_ pid: pid_t, _ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// Whether a process with this id runs and its command line mentions `marker`.
    static func isRunning(_ pid: pid_t, mentioning marker: String) -> Bool {
        guard pid > 0, kill(pid, 0) == 0,
            let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return false }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(marker)
    }

    /// Waits for any child to end: its id and exit status (128 + signal when killed).
    static func waitAny() -> (pid: pid_t, status: Int32)? {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, 0)
            if pid > 0 {
                let exited = status & 0x7f == 0
                return (pid, exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
            if errno != EINTR { return nil }
        }
    }

    /// A TCP port on the loopback interface that was free a moment ago.
    static func freePort() -> Int {
        let socketHandle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketHandle) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(socketHandle, pointer, length) == 0 && getsockname(socketHandle, pointer, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : Int.random(in: 30_000...40_000)
    }
}
