import Foundation
import Testing
import Training

/// Every schedule against PyTorch's scheduler at every step (golden values from scripts/make-scheduler-goldens.py).
@Suite struct LearningRateScheduleTests {
    /// Learning rates by schedule name.
    static let golden: [String: [Double]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/schedulers.json")
        let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (root["schedules"] as! [String: [String: Any]]).mapValues { $0["lrs"] as! [Double] }
    }()

    static func expected(_ name: String) -> [Double] { golden[name]! }

    static let cases: [(name: String, schedule: LearningRateSchedule)] = [
        ("step_lr", .step(stepSize: 7, gamma: 0.5)),
        ("constant_lr", .constant(factor: 0.25, totalIters: 9)),
        ("linear_lr", .linear(startFactor: 0.1, endFactor: 0.9, totalIters: 13)),
        ("cosine_annealing_lr", .cosineAnnealing(tMax: 17, etaMin: 0.001)),
        ("onecycle_lr_cos", .oneCycle(maxLR: 0.6, totalSteps: 40, pctStart: 0.3, cosine: true, divFactor: 10, finalDivFactor: 100)),
        ("onecycle_lr_linear", .oneCycle(maxLR: 0.6, totalSteps: 40, pctStart: 0.25, cosine: false, divFactor: 25, finalDivFactor: 1e4)),
        ("linear_warmup_cosine_annealing_lr", .linearWarmupCosineAnnealing(warmupSteps: 8, totalSteps: 30, initialLR: 0.01, finalLR: 0.002)),
    ]

    @Test(arguments: cases.map(\.name))
    func matchesPyTorchAtEveryStep(_ name: String) throws {
        let schedule = try #require(Self.cases.first { $0.name == name }?.schedule)
        for (step, expected) in Self.expected(name).enumerated() {
            let actual = schedule.learningRate(at: step, base: 0.1)
            #expect(Swift.abs(actual - expected) <= 1e-12 * Swift.max(1, Swift.abs(expected)), "\(name) step \(step): \(actual) vs \(expected)")
        }
    }

    @Test func dummyKeepsTheBaseRate() {
        #expect((0..<5).map { LearningRateSchedule.constantBase.learningRate(at: $0, base: 3e-4) } == [Double](repeating: 3e-4, count: 5))
    }
}
