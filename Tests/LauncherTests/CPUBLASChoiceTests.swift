import Foundation
import Testing
import Torch

/// `MODALITIES_CPU_BLAS` picks the library behind float32/float64 CPU GEMMs once per process (shim/src/cpu_blas.cpp);
/// `modalities env` reports the choice. A value that cannot be honoured says why on stderr and leaves libtorch's
/// GEMMs in place: the process still runs.
@Suite struct CPUBLASChoiceTests {
    func env(_ setting: String?) throws -> (status: Int32, output: String) {
        var environment: [String: String] = [:]
        if let setting { environment["MODALITIES_CPU_BLAS"] = setting }
        return try DistributedLaunchTests().launch(["env"], environment: environment)
    }

    @Test func libtorchKeepsLibtorchsGEMMs() throws {
        let (status, output) = try env("libtorch")
        #expect(status == 0, "\(output)")
        #expect(output.contains("cpu gemms: libtorch's BLAS"), "\(output)")
    }

    @Test func theDefaultIsWhatThisProcessUses() throws {
        // The child inherits this process's environment, so it must make the same choice.
        let (status, output) = try env(nil)
        #expect(status == 0, "\(output)")
        #expect(output.contains("cpu gemms: \(Runtime.cpuBLAS ?? "libtorch's BLAS")"), "\(output)")
    }

    @Test func unusableSettingsSayWhyAndFallBack() throws {
        let (status, output) = try env("fastest")
        #expect(status == 0, "\(output)")
        #expect(output.contains("MODALITIES_CPU_BLAS=fastest is not one of auto, blis, libtorch or a library path"), "\(output)")
        #expect(output.contains("cpu gemms: libtorch's BLAS"), "\(output)")

        let (missingStatus, missing) = try env("/nonexistent/libblis.so.4")
        #expect(missingStatus == 0, "\(missing)")
        #expect(missing.contains("MODALITIES_CPU_BLAS=/nonexistent/libblis.so.4: /nonexistent/libblis.so.4"), "\(missing)")
        #expect(missing.contains("using libtorch's GEMMs") && missing.contains("cpu gemms: libtorch's BLAS"), "\(missing)")

        // A library that exists but is not BLIS (libtorch's own libc10) is named as such.
        guard let libtorch = Runtime.libraryLocation else { return }
        let other = URL(fileURLWithPath: libtorch).deletingLastPathComponent().appendingPathComponent("libc10.so").path
        let (otherStatus, wrong) = try env(other)
        #expect(otherStatus == 0, "\(wrong)")
        #expect(wrong.contains("\(other) is not a BLIS library"), "\(wrong)")
    }
}
