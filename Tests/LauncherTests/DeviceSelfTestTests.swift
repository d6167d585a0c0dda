import Foundation
import TestSupport
import Testing
import Torch

@testable import Launcher

/// The device self test (`modalities selftest`) checked on the CPU: its float32 results against its float64
/// reference, its comparisons' power to fail, and its refusal of a GPU that is not there.
@Suite(.serialized) struct DeviceSelfTestTests {
    @Test func everyCheckPassesOnTheCPUAndGPUChecksAreSkipped() throws {
        let results = try DeviceSelfTest(device: .cpu).run()
        let failures = results.filter(\.outcome.isFailure).map { "\($0.name): \($0.outcome)" }
        #expect(failures.isEmpty, "\(failures)")
        let skipped = results.filter(\.outcome.isSkipped).map(\.name)
        #expect(
            skipped.count == 8
                && skipped.allSatisfy { name in
                    try! DeviceSelfTest(device: .cpu).checks.first { $0.name == name }!.needsAccelerator
                })
        #expect(results.count - skipped.count >= 19)
        let training = try #require(results.first { $0.name.hasPrefix("GPT2LLM training") })
        guard case .passed(let detail) = training.outcome else { Issue.record("training check: \(training.outcome)"); return }
        #expect(detail.hasPrefix("loss ") && detail.contains(" -> "))
    }

    @Test func comparisonsRejectWrongValuesShapesAndNaN() throws {
        let reference = try Tensor([1, 2, 3] as [Double])
        #expect(try DeviceSelfTest.relativeDifference(Tensor([1, 2, 3.0001] as [Float]), reference, label: "x", tolerance: 1e-4) < 1e-4)
        #expect(throws: DeviceSelfTest.Mismatch.self) {
            try DeviceSelfTest.relativeDifference(Tensor([1, 2, 3.01] as [Float]), reference, label: "x", tolerance: 1e-4)
        }
        #expect(throws: DeviceSelfTest.Mismatch.self) {
            try DeviceSelfTest.relativeDifference(Tensor([1, 2] as [Float]), reference, label: "x", tolerance: 1e-4)
        }
        #expect(throws: DeviceSelfTest.Mismatch.self) {
            try DeviceSelfTest.relativeDifference(Tensor([1, 2, .nan] as [Float]), reference, label: "x", tolerance: 1e-4)
        }
    }

    @Test func aFailingCheckIsReportedAndTheRestStillRun() throws {
        var test = try DeviceSelfTest(device: .cpu)
        test.seed = 99
        let broken = DeviceSelfTest.Check(name: "deliberately wrong") { test in
            try test.compareWithReference { make in [try make.normal([4]) * (make.floatType == .float32 ? 1.01 : 1)] }
        }
        let outcome: DeviceSelfTest.Outcome
        do { outcome = .passed(try broken.run(test)) } catch { outcome = .failed("\(error)") }
        #expect(outcome.isFailure)
        let filtered = test.run(filter: "softmax")
        #expect(filtered.count == 1 && !filtered[0].outcome.isFailure)
    }

    @Test(.enabled(if: !CUDA.isLoaded, "CUDA is loaded in this process"))
    func aGPUThatIsNotThereIsRefused() throws {
        let error = #expect(throws: TorchError.self) { try DeviceSelfTest(device: .cuda(0)) }
        #expect(error?.description.contains("CUDA.load()") == true)
        #expect(throws: TorchError.self) { try DeviceSelfTest(device: .meta) }
    }

    @Test func generatingOnAGPUThatIsNotThereSaysWhy() throws {
        let (status, output) = try DistributedLaunchTests().launch([
            "generate_text", "--model", "/nonexistent", "--prompt_ids", "1,2",
            "--device", "cuda",
        ])
        #expect(status != 0)
        if CUDA.driverNodeExists {
            // A machine with an NVIDIA driver: CUDA may load, and then the missing model is what stops the command.
            #expect(output.contains("libtorch_cuda.so") || output.contains("/nonexistent"), "\(output)")
        } else {
            #expect(output.contains("--device cuda") && output.contains("libtorch_cuda.so"), "\(output)")
        }
        let (badStatus, badOutput) = try DistributedLaunchTests().launch(["generate_text", "--model", "/nonexistent", "--device", "tpu"])
        #expect(badStatus != 0 && badOutput.contains("--device must be cpu, cuda or cuda:N"))
    }

    @Test(
        .disabled(if: CUDA.driverNodeExists, "this machine has an NVIDIA driver: the command would run the GPU checks (scripts/gpu-check)"))
    func theCommandExplainsWhyCUDACannotBeChecked() throws {
        let binary = try #require(TestData.modalitiesBinary, "build the modalities binary next to the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["selftest", "--device", "cuda"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(message.contains("CUDA did not load") && message.contains("libtorch_cuda.so"))
    }
}
