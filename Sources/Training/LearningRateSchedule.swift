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
    /// anneal to `maxLR / divFactor / finalDivFactor` (the base rate is not used, as in PyTorch). With `momentum`
    /// (`cycle_momentum`), Adam's beta1 moves the other way: from its max down to its base while the rate rises, and
    /// back up while it falls.
    case oneCycle(
        maxLR: Double, totalSteps: Int, pctStart: Double, cosine: Bool, divFactor: Double, finalDivFactor: Double,
        momentum: MomentumCycle? = nil)

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
        case let .oneCycle(maxLR, totalSteps, pctStart, cosine, divFactor, finalDivFactor, _):
            let initial = maxLR / divFactor
            let (warmingUp, fraction) = Self.oneCyclePhase(step: step, totalSteps: totalSteps, pctStart: pctStart)
            return warmingUp
                ? Self.anneal(from: initial, to: maxLR, fraction, cosine: cosine)
                : Self.anneal(from: maxLR, to: initial / finalDivFactor, fraction, cosine: cosine)
        }
    }

    /// Adam's beta1 for step `step` when the schedule cycles momentum (`onecycle_lr` with `cycle_momentum`), else nil:
    /// what PyTorch's scheduler writes into `betas[0]` of every parameter group.
    public func beta1(at step: Int) -> Double? {
        guard case let .oneCycle(_, totalSteps, pctStart, cosine, _, _, momentum?) = self else { return nil }
        let (warmingUp, fraction) = Self.oneCyclePhase(step: step, totalSteps: totalSteps, pctStart: pctStart)
        return warmingUp
            ? Self.anneal(from: momentum.max, to: momentum.base, fraction, cosine: cosine)
            : Self.anneal(from: momentum.base, to: momentum.max, fraction, cosine: cosine)
    }

    /// PyTorch's two one-cycle phases: the warm-up ends at step `pctStart · totalSteps − 1`, the annealing at the last
    /// step. With `pctStart · totalSteps` below 1 the warm-up ends before step 0, so every step anneals (from that
    /// negative end), as PyTorch does.
    private static func oneCyclePhase(step: Int, totalSteps: Int, pctStart: Double) -> (warmingUp: Bool, fraction: Double) {
        let warmupEnd = pctStart * Double(totalSteps) - 1
        if Double(step) <= warmupEnd { return (true, Double(step) / warmupEnd) }
        return (false, (Double(step) - warmupEnd) / (Double(totalSteps - 1) - warmupEnd))
    }

    private static func anneal(from start: Double, to end: Double, _ fraction: Double, cosine: Bool) -> Double {
        cosine ? end + (start - end) / 2 * (cos(Double.pi * fraction) + 1) : (end - start) * fraction + start
    }
}

/// `onecycle_lr`'s momentum range (`base_momentum`, `max_momentum`): Adam's beta1 cycles between them.
public struct MomentumCycle: Sendable, Equatable {
    public var base: Double
    public var max: Double

    public init(base: Double, max: Double) {
        self.base = base
        self.max = max
    }
}
