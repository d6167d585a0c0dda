import Foundation

/// The learning rate at each optimizer step, as PyTorch's schedulers give it (Modalities' `scheduler/*`).
///
/// `learningRate(at: step)` is the rate the optimizer uses for step `step` (0 = the first step), i.e. what
/// PyTorch's optimizer holds after `step` calls of `scheduler.step()`.
public enum LearningRateSchedule: Sendable, Equatable {
    /// `scheduler/dummy_lr`: the base rate throughout.
    case constantBase
    /// `scheduler/step_lr`: multiplied by `gamma` every `stepSize` steps.
    case step(stepSize: Int, gamma: Double)
    /// `scheduler/constant_lr`: `factor` times the base for the first `totalIters` steps.
    case constant(factor: Double, totalIters: Int)
    /// `scheduler/linear_lr`: from `startFactor` to `endFactor` times the base over `totalIters` steps.
    case linear(startFactor: Double, endFactor: Double, totalIters: Int)
    /// `scheduler/cosine_annealing_lr`: half a cosine from the base down to `etaMin` over `tMax` steps.
    case cosineAnnealing(tMax: Int, etaMin: Double)
    /// `scheduler/onecycle_lr`: warm up from `maxLR / divFactor` to `maxLR` over `pctStart` of the steps, then
    /// anneal to `maxLR / divFactor / finalDivFactor` (the base rate is not used, as in PyTorch).
    case oneCycle(maxLR: Double, totalSteps: Int, pctStart: Double, cosine: Bool, divFactor: Double, finalDivFactor: Double)

    /// `scheduler/linear_warmup_cosine_annealing_lr`: from `initialLR` linearly up to the base rate over
    /// `warmupSteps`, then half a cosine down to `finalLR` at `totalSteps` — PyTorch's
    /// `SequentialLR([LinearLR(start_factor: initialLR / base), CosineAnnealingLR(T_max: totalSteps − warmupSteps, eta_min: finalLR)])`.
    case linearWarmupCosineAnnealing(warmupSteps: Int, totalSteps: Int, initialLR: Double, finalLR: Double)

    public func learningRate(at step: Int, base: Double) -> Double {
        switch self {
        case .constantBase:
            return base
        case let .step(stepSize, gamma):
            return base * pow(gamma, Double(step / stepSize))
        case let .constant(factor, totalIters):
            return step < totalIters ? base * factor : base
        case let .linear(startFactor, endFactor, totalIters):
            return base * (startFactor + (endFactor - startFactor) * Double(min(step, totalIters)) / Double(totalIters))
        case let .cosineAnnealing(tMax, etaMin):
            return etaMin + (base - etaMin) * (1 + cos(Double.pi * Double(step) / Double(tMax))) / 2
        case let .linearWarmupCosineAnnealing(warmupSteps, totalSteps, initialLR, finalLR):
            if step < warmupSteps {
                let startFactor = initialLR / base
                return base * (startFactor + (1 - startFactor) * Double(step) / Double(warmupSteps))
            }
            return finalLR + (base - finalLR) * (1 + cos(Double.pi * Double(step - warmupSteps) / Double(totalSteps - warmupSteps))) / 2
        case let .oneCycle(maxLR, totalSteps, pctStart, cosine, divFactor, finalDivFactor):
            let initial = maxLR / divFactor
            let minimum = initial / finalDivFactor
            let warmupEnd = pctStart * Double(totalSteps) - 1
            let phases: [(end: Double, from: Double, to: Double)] = [(warmupEnd, initial, maxLR), (Double(totalSteps - 1), maxLR, minimum)]
            var start = 0.0
            for (index, phase) in phases.enumerated() {
                if Double(step) <= phase.end || index == phases.count - 1 {
                    let fraction = (Double(step) - start) / (phase.end - start)
                    return cosine ? phase.to + (phase.from - phase.to) / 2 * (cos(Double.pi * fraction) + 1)
                        : (phase.to - phase.from) * fraction + phase.from
                }
                start = phase.end
            }
            return minimum
        }
    }
}
