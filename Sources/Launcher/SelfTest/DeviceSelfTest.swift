import Foundation
import Torch

/// Checks that the engine computes on a device what it computes on the CPU (`modalities selftest`).
///
/// Every operator check builds the same inputs twice from one seed: in float32 on the device under test, and in
/// float64 on the CPU as the reference; the device's outputs (gradients included) must match the reference within a
/// stated tolerance. Model checks run GPT2LLM forward, backward and a few AdamW steps the same way. Accelerator checks
/// (pinned memory, streams and events, allocator statistics, autocast, attention backend, CUDA graphs) run only on a
/// GPU and are reported as skipped on the CPU, where the rest is still a real float32-against-float64 check.
public struct DeviceSelfTest {
    /// The outcome of one check.
    public enum Outcome: Sendable, Equatable {
        case passed(String)
        case failed(String)
        case skipped(String)

        public var isFailure: Bool { if case .failed = self { return true } else { return false } }
        public var isSkipped: Bool { if case .skipped = self { return true } else { return false } }
    }

    /// One check's name, outcome and wall time.
    public struct Result: Sendable {
        public var name: String
        public var outcome: Outcome
        public var seconds: Double
    }

    /// A named check; `run` returns what passing showed (e.g. the largest difference) or throws ``Mismatch``.
    struct Check {
        var name: String
        var needsAccelerator = false
        var run: (DeviceSelfTest) throws -> String
    }

    /// A check's result disagreed with the reference.
    struct Mismatch: Error, CustomStringConvertible {
        var description: String
    }

    /// The device under test.
    public let device: Device
    /// Seed of every check's inputs.
    public var seed: UInt64 = 1234

    /// A self test of `device`; for CUDA, ``CUDA/load(libraryPath:)`` must have succeeded.
    public init(device: Device) throws {
        if device.kind == .cuda {
            guard CUDA.isLoaded else {
                throw TorchError.invalidArgument("\(device) needs libtorch's CUDA backend: CUDA.load() has not succeeded in this process")
            }
            guard CUDA.deviceCount > (device.index ?? 0) else {
                throw TorchError.invalidArgument("\(device) is not there: libtorch sees \(CUDA.deviceCount) CUDA device(s)")
            }
        } else if device.kind != .cpu {
            throw TorchError.invalidArgument("the self test runs on cpu or cuda[:N], not \(device)")
        }
        self.device = device
    }

    /// Whether the device is a GPU (accelerator checks run).
    var isAccelerator: Bool { device.kind != .cpu }

    /// The names of every check, in running order.
    public var checkNames: [String] { checks.map(\.name) }

    var checks: [Check] { operatorChecks + autogradChecks + modelChecks + acceleratorChecks }

    /// Runs every check (those whose name contains `filter`, when given), reporting each as it finishes.
    public func run(filter: String? = nil, onResult: (Result) -> Void = { _ in }) -> [Result] {
        var results: [Result] = []
        for check in checks where filter.map({ check.name.contains($0) }) ?? true {
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome: Outcome
            if check.needsAccelerator && !isAccelerator {
                outcome = .skipped("needs a GPU")
            } else {
                do {
                    outcome = .passed(try check.run(self))
                } catch {
                    outcome = .failed("\(error)")
                }
            }
            let result = Result(
                name: check.name, outcome: outcome,
                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            onResult(result)
            results.append(result)
        }
        return results
    }

    // MARK: - Comparing with the reference

    /// Runs `body` on the device in float32 and on the CPU in float64 from the same seeded inputs, and requires every
    /// output to agree within `tolerance` relative to the reference's largest magnitude.
    func compareWithReference(tolerance: Double = 1e-4, _ body: (InputMaker) throws -> [Tensor]) throws -> String {
        let outputs = try body(InputMaker(device: device, floatType: .float32, seed: seed))
        let references = try body(InputMaker(device: .cpu, floatType: .float64, seed: seed))
        guard outputs.count == references.count else {
            throw Mismatch(description: "\(outputs.count) outputs on \(device), \(references.count) on the CPU")
        }
        var worst = 0.0
        for (index, (output, reference)) in zip(outputs, references).enumerated() {
            worst = max(worst, try Self.relativeDifference(output, reference, label: "output \(index)", tolerance: tolerance))
        }
        return "max relative difference \(Self.formatted(worst)) (tolerance \(Self.formatted(tolerance)))"
    }

    /// The largest difference between `output` and `reference`, relative to the reference's largest magnitude.
    static func relativeDifference(_ output: Tensor, _ reference: Tensor, label: String, tolerance: Double) throws -> Double {
        guard output.shape == reference.shape else {
            throw Mismatch(description: "\(label): shape \(output.shape), the reference has \(reference.shape)")
        }
        let actual = try output.detach().to(device: .cpu, dtype: .float64)
        let expected = try reference.detach().to(device: .cpu, dtype: .float64)
        guard actual.count > 0 else { return 0 }
        let scale = max(try expected.abs().max().item(Double.self), 1e-6)
        let difference = try (actual - expected).abs().max().item(Double.self) / scale
        guard difference.isFinite, difference <= tolerance else {
            throw Mismatch(description: "\(label): relative difference \(formatted(difference)) exceeds \(formatted(tolerance))")
        }
        return difference
    }

    static func formatted(_ value: Double) -> String { String(format: "%.2e", value) }
}

/// Makes a check's inputs: the same values from the same seed, in the float type and on the device of one run.
struct InputMaker {
    let device: Device
    let floatType: DType
    let generator: Generator

    init(device: Device, floatType: DType, seed: UInt64) throws {
        self.device = device
        self.floatType = floatType
        self.generator = try Generator(seed: seed)
    }

    /// Standard normal values times `scale`.
    func normal(_ shape: [Int], scale: Double = 1) throws -> Tensor {
        try (Tensor.randn(shape, dtype: .float64, generator: generator) * scale).to(device: device, dtype: floatType)
    }

    /// Values in [0.5, 1.5), for functions defined on positive numbers.
    func positive(_ shape: [Int]) throws -> Tensor {
        try (Tensor.rand(shape, dtype: .float64, generator: generator) + 0.5).to(device: device, dtype: floatType)
    }

    /// Integers in 0..<bound.
    func indices(_ shape: [Int], below bound: Int) throws -> Tensor {
        try Tensor.randint(0, bound, shape, generator: generator).to(device: device)
    }

    /// A normal leaf tensor that requires grad.
    func parameter(_ shape: [Int], scale: Double = 1) throws -> Tensor {
        try normal(shape, scale: scale).requiresGrad(true)
    }
}
