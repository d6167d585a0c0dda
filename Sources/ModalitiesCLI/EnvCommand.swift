import ArgumentParser
import Torch

/// `modalities env`: what this binary runs on.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the Swift and libtorch versions, where libtorch was found, threads and CUDA devices."
    )

    @Flag(help: "Load libtorch's CUDA backend even when no NVIDIA device node is visible.")
    var cuda = false

    func run() throws {
        // CUDA must be loaded before anything touches libtorch's CUDA hooks, so decide first.
        let gpuVisible = Runtime.nvidiaDeviceNodeExists
        var cudaLoadError: Error?
        if cuda || gpuVisible {
            do { try Runtime.loadCUDA() } catch { cudaLoadError = error }
        }
        try Runtime.start()
        #if compiler(>=6.4)
        let swiftVersion = "6.4 or later"
        #elseif compiler(>=6.3)
        let swiftVersion = "6.3"
        #elseif compiler(>=6.2)
        let swiftVersion = "6.2"
        #else
        let swiftVersion = "6.1"
        #endif
        print("swift: \(swiftVersion)")
        print("libtorch: \(try Runtime.runtimeVersion()) (shim compiled against \(Runtime.compiledVersion))")
        print("libtorch location: \(Runtime.libraryLocation ?? "unknown")")
        print("threads: \(Runtime.threadCount)")
        if let cudaLoadError {
            print("cuda: libtorch_cuda.so did not load: \(cudaLoadError)")
        } else if cuda || gpuVisible {
            print("cuda: available \(Runtime.isCUDAAvailable), devices \(Runtime.cudaDeviceCount)")
        } else {
            print("cuda: no NVIDIA device found (/dev/nvidiactl absent); CPU only")
        }
    }
}
