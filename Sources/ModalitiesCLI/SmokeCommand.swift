import ArgumentParser
import Torch

/// `modalities smoke`: a tiny end-to-end training run on the CPU, proving the engine works on this machine.
struct SmokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smoke",
        abstract: "Train a tiny two-layer network on a synthetic task and report the loss falling."
    )

    @Option(help: "Optimizer steps.") var steps = 200
    @Option(help: "Random seed.") var seed: UInt64 = 42

    func run() throws {
        let report = try SmokeTraining(steps: steps, seed: seed).run { step, loss in
            if step % 50 == 0 || step == steps { print("step \(step): loss \(formatted(loss))") }
        }
        print("mean loss of the first and last 10 steps: \(formatted(report.firstLoss)) -> \(formatted(report.lastLoss))")
        guard report.lastLoss < report.firstLoss * 0.5 else {
            throw ValidationError("the loss did not halve; the engine is not training correctly")
        }
    }

    private func formatted(_ value: Double) -> String {
        let scaled = (value * 10_000).rounded() / 10_000
        return "\(scaled)"
    }
}
