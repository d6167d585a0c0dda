import Foundation
import Testing

@testable import Torch

/// The CUDA path on a machine without a GPU: everything compiles, and every GPU-only call fails with a message that
/// says why instead of crashing. (On a GPU the same API is checked by `modalities selftest --device cuda`.)
@Suite(.serialized) struct AcceleratorTests {
    /// Whether this test process loaded CUDA. The suite's training tests pin the CPU, so it does not even on a
    /// machine with a GPU; were it loaded, the checks of the unloaded state below would not apply.
    static let cudaNotLoaded: Bool = !CUDA.isLoaded

    @Test(.enabled(if: cudaNotLoaded, "CUDA is loaded in this process"))
    func cudaIsReportedAbsentWithoutTouchingItsHooks() throws {
        #expect(!CUDA.isAvailable)
        #expect(CUDA.deviceCount == 0)
        #expect(CUDA.shimProblem?.contains("CUDA.load()") == true)
    }

    @Test(.enabled(if: cudaNotLoaded, "CUDA is loaded in this process"))
    func gpuOnlyCallsThrowTheReason() throws {
        let graphError = #expect(throws: TorchError.self) { try CUDAGraph() }
        #expect(graphError?.description.contains("CUDA is not loaded") == true)
        let propertiesError = #expect(throws: TorchError.self) { try CUDA.deviceProperties(0) }
        #expect(propertiesError?.description.contains("CUDA is not loaded") == true)
        #expect(throws: TorchError.self) { try CUDA.setMemoryFraction(1.5) }
        let synchronizeError = #expect(throws: TorchError.self) { try Accelerator.synchronize(.cuda(0)) }
        #expect(synchronizeError?.description.lowercased().contains("cuda") == true)
        #expect(throws: TorchError.self) { try Accelerator.memoryStatistics(of: .cuda(0)) }
        #expect(throws: TorchError.self) { try Tensor.zeros([2], device: .cuda(0)) }
        #expect(throws: TorchError.self) { try Tensor.zeros([2]).pinned() }
    }

    @Test func theCPUIsNotAnAccelerator() throws {
        for call in [
            { _ = try Stream.current(on: .cpu) }, { _ = try Event(device: .cpu) }, { try Accelerator.synchronize(.cpu) },
            { _ = try Accelerator.memoryStatistics(of: .meta) },
        ] as [() throws -> Void] {
            let error = #expect(throws: TorchError.self) { try call() }
            #expect(error?.description.contains("not an accelerator") == true)
        }
    }

    @Test func cpuParametersOfTheDeviceAPIBehave() throws {
        let values = try Tensor([1, 2, 3] as [Float])
        #expect(try values.to(device: .cpu, nonBlocking: true).toArray(Float.self) == [1, 2, 3])
        #expect(try !values.isPinned())
        #expect(try Generator.defaultGenerator(for: .cpu) === Generator.defaultCPU)
        #expect(Device("cuda:3") == .cuda(3))
        #expect(Device("cuda:x") == nil)
        #expect(Device("cuda")?.index == nil)
    }

    @Test func attentionBackendIsTheDispatchersChoice() throws {
        let q = try Tensor.randn([1, 2, 16, 8])
        let backend = try Functional.attentionBackend(query: q, key: q, value: q, isCausal: true)
        #expect([.math, .flashAttention].contains(backend))
        // A float64 mask with dropout rules out the fused kernels on every device.
        let masked = try Functional.attentionBackend(query: q, key: q, value: q, mask: Tensor.zeros([16, 16]), dropout: 0.1)
        #expect(masked == .math)
    }

    /// `make shim` builds the CUDA shim whenever the CUDA runtime and NCCL headers are at hand (setup-libtorch keeps
    /// them); every entry point the main shim forwards to, NCCL's process group included, must be exported by it.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: cudaShimPath)))
    func builtCUDAShimExportsEveryForwardedEntryPoint() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nm", "-D", "--defined-only", cudaShimPath]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let exported = Set(output.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        #expect(CUDA.shimEntryPoints.count == 12)
        for name in CUDA.shimEntryPoints {
            #expect(exported.contains(name), "libctorch_cuda_shim.so does not export \(name)")
        }
    }
}

/// Where `make shim` puts the CUDA shim of this checkout.
let cudaShimPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build/shim/libctorch_cuda_shim.so").path
