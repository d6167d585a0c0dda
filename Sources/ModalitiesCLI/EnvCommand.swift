import ArgumentParser
import Distributed
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
        let gpuVisible = CUDA.driverNodeExists
        var cudaLoadError: Error?
        if cuda || gpuVisible {
            do { try CUDA.load() } catch { cudaLoadError = error }
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
        print(
            "cpu gemms: \(Runtime.cpuBLAS ?? "libtorch's BLAS")\(Runtime.cpuBF16MatmulsUseFloat32 ? "; bf16 products as float32 GEMMs (no bf16 arithmetic)" : "")"
        )
        if let cudaLoadError {
            print("cuda: libtorch_cuda.so did not load: \(cudaLoadError)")
        } else if cuda || gpuVisible {
            print("cuda: available \(CUDA.isAvailable), devices \(CUDA.deviceCount)")
            for index in 0..<CUDA.deviceCount {
                if let properties = try? CUDA.deviceProperties(index) {
                    print(
                        "cuda:\(index): \(properties.name), compute capability \(properties.computeCapability.major).\(properties.computeCapability.minor), \(properties.totalMemoryBytes >> 20) MiB"
                    )
                }
            }
            print("cuda shim: \(CUDA.shimProblem ?? "loaded")")
            if CUDA.shimProblem == nil {
                print("nccl: \((try? ProcessGroup.ncclVersion()).map { "\($0) (libtorch's ProcessGroupNCCL)" } ?? "unavailable")")
            }
        } else {
            print("cuda: no NVIDIA device found (/dev/nvidiactl absent); CPU only")
        }
    }
}
