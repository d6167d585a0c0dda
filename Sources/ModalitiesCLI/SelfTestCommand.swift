import ArgumentParser
import Foundation
import Launcher
import Torch

/// `modalities selftest`: every engine operation the models use, on a device, against the CPU in float64.
struct SelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check a device: operators, autograd, GPT2LLM and a short training loop against the CPU, plus GPU features.",
        discussion: """
            Each check computes in float32 on the device and in float64 on the CPU from the same seeded inputs and \
            compares. On a GPU it also checks pinned memory, streams and events, allocator statistics, bf16 \
            autocast, the flash attention backend and CUDA graphs, and reports a matmul throughput. Ends with one \
            summary line; the exit status is non-zero when a check fails or the device cannot be used.
            """
    )

    @Option(help: "cpu, cuda or cuda:N. CUDA is loaded at start-up (libtorch_cuda.so next to libtorch).")
    var device = "cpu"

    @Option(help: "Run only the checks whose name contains this text.")
    var only: String?

    @Flag(help: "List the checks and exit.")
    var list = false

    func run() throws {
        let target = try DeviceArgument.parse(device)
        let resolved: Device
        do {
            resolved = try DeviceArgument.prepare(target)
        } catch {
            fail("CUDA did not load, so \(target) cannot be checked: \(error)")
        }
        try Runtime.start()
        let test: DeviceSelfTest
        do {
            test = try DeviceSelfTest(device: resolved)
        } catch {
            fail("\(error)")
        }
        if list {
            test.checkNames.forEach { print($0) }
            return
        }
        FileHandle.standardOutput.write(
            Data(
                "selftest on \(resolved): \(deviceDescription(resolved)); libtorch \(try Runtime.runtimeVersion()), \(Runtime.threadCount) CPU threads\n"
                    .utf8))
        if resolved.kind == .cuda, let problem = CUDA.shimProblem {
            print("note: \(problem)")
        }
        let results = test.run(filter: only) { result in
            let timing = String(format: "%.3f s", result.seconds)
            let line: String
            switch result.outcome {
            case .passed(let detail): line = "PASS  \(result.name): \(detail) [\(timing)]"
            case .failed(let detail): line = "FAIL  \(result.name): \(detail) [\(timing)]"
            case .skipped(let reason): line = "SKIP  \(result.name): \(reason)"
            }
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        let failed = results.filter(\.outcome.isFailure).count
        let skipped = results.filter(\.outcome.isSkipped).count
        let passed = results.count - failed - skipped
        let seconds = results.map(\.seconds).reduce(0, +)
        print(
            "selftest: \(passed) passed, \(failed) failed, \(skipped) skipped on \(resolved) (\(deviceDescription(resolved))) in \(String(format: "%.1f", seconds)) s"
        )
        if results.isEmpty { throw ValidationError("no check's name contains '\(only ?? "")'") }
        if failed > 0 { throw ExitCode.failure }
    }

    /// Reports why the device cannot be checked and exits with status 2.
    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("selftest: \(message)\n".utf8))
        Foundation.exit(2)
    }

    private func deviceDescription(_ device: Device) -> String {
        guard device.kind == .cuda else { return "CPU" }
        return (try? CUDA.deviceProperties(device.index ?? 0).name) ?? "CUDA device \(device.index ?? 0)"
    }
}
