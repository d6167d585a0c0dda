import Foundation
import Testing
import Training

/// Every schedule against PyTorch's scheduler at every step (golden values from scripts/make-scheduler-goldens.py).
@Suite struct LearningRateScheduleTests {
    /// PyTorch's learning rates, and Adam's beta1 where the schedule cycles momentum, by schedule name.
    static let golden: [String: (lrs: [Double], beta1s: [Double]?)] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/schedulers.json")
        let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (root["schedules"] as! [String: [String: Any]]).mapValues { ($0["lrs"] as! [Double], $0["beta1s"] as? [Double]) }
    }()

    static func expected(_ name: String) -> [Double] { golden[name]!.lrs }
    static func expectedBeta1(_ name: String) -> [Double]? { golden[name]!.beta1s }

    static let cases: [(name: String, schedule: LearningRateSchedule)] = [
        ("step_lr", .step(stepSize: 7, gamma: 0.5)),
        ("constant_lr", .constant(factor: 0.25, totalIters: 9)),
        ("linear_lr", .linear(startFactor: 0.1, endFactor: 0.9, totalIters: 13)),
        ("cosine_annealing_lr", .cosineAnnealing(tMax: 17, etaMin: 0.001)),
        ("onecycle_lr_cos", .oneCycle(maxLR: 0.6, totalSteps: 40, pctStart: 0.3, cosine: true, divFactor: 10, finalDivFactor: 100)),
        ("onecycle_lr_linear", .oneCycle(maxLR: 0.6, totalSteps: 40, pctStart: 0.25, cosine: false, divFactor: 25, finalDivFactor: 1e4)),
        (
            "linear_warmup_cosine_annealing_lr",
            .linearWarmupCosineAnnealing(warmupSteps: 8, totalSteps: 30, initialLR: 0.01, finalLR: 0.002)
        ),
        (
            "onecycle_lr_cos_momentum",
            .oneCycle(
                maxLR: 0.6, totalSteps: 40, pctStart: 0.3, cosine: true, divFactor: 10, finalDivFactor: 100,
                momentum: MomentumCycle(base: 0.85, max: 0.95))
        ),
        (
            "onecycle_lr_linear_momentum",
            .oneCycle(
                maxLR: 0.6, totalSteps: 40, pctStart: 0.25, cosine: false, divFactor: 25, finalDivFactor: 1e4,
                momentum: MomentumCycle(base: 0.8, max: 0.9))
        ),
        // pct_start × total_steps = 0.8: no warm-up phase, PyTorch anneals from the first step.
        (
            "onecycle_lr_short",
            .oneCycle(
                maxLR: 1e-3, totalSteps: 8, pctStart: 0.1, cosine: true, divFactor: 10, finalDivFactor: 100,
                momentum: MomentumCycle(base: 0.85, max: 0.95))
        ),
    ]

    @Test(arguments: cases.map(\.name))
    func matchesPyTorchAtEveryStep(_ name: String) throws {
        let schedule = try #require(Self.cases.first { $0.name == name }?.schedule)
        for (step, expected) in Self.expected(name).enumerated() {
            let actual = schedule.learningRate(at: step, base: 0.1)
            #expect(
                Swift.abs(actual - expected) <= 1e-12 * Swift.max(1, Swift.abs(expected)), "\(name) step \(step): \(actual) vs \(expected)")
        }
        // Momentum: PyTorch's betas[0] at every step where the schedule cycles it, none where it does not.
        let beta1s = Self.expectedBeta1(name)
        #expect((schedule.beta1(at: 0) == nil) == (beta1s == nil), "\(name)")
        for (step, expected) in (beta1s ?? []).enumerated() {
            let actual = try #require(schedule.beta1(at: step))
            #expect(Swift.abs(actual - expected) <= 1e-12, "\(name) step \(step): beta1 \(actual) vs \(expected)")
        }
    }

    @Test func dummyKeepsTheBaseRate() {
        #expect((0..<5).map { LearningRateSchedule.constantBase.learningRate(at: $0, base: 3e-4) } == [Double](repeating: 3e-4, count: 5))
    }
}
