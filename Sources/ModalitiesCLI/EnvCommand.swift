import ArgumentParser
import Torch

/// `modalities env`: what this binary runs on.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the Swift and libtorch versions, where libtorch was found, threads and CUDA devices."
    )

    @Flag(help: "Also load libtorch's CUDA backend and list the GPUs.")
    var cuda = false

    func run() throws {
        if cuda {
            do {
                try Runtime.loadCUDA()
            } catch {
                print("cuda: not loaded (\(error))")
            }
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
        if cuda {
            print("cuda available: \(Runtime.isCUDAAvailable), devices: \(Runtime.cudaDeviceCount)")
        } else {
            print("cuda: not loaded (pass --cuda to load libtorch_cuda.so)")
        }
    }
}
