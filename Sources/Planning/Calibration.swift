import Foundation

/// Fits a cluster's free constants on measured runs and measures the prediction error on others.
public enum Calibration {
    /// How well a set of constants predicts a set of rows.
    public struct Accuracy: Sendable {
        public var rows: Int
        /// Median and largest |predicted / measured − 1| of samples/s — the same as of MFU, which is proportional.
        public var medianError: Double
        public var worstError: Double
        /// The row with the largest error.
        public var worstRow: ScalingTableRow?
    }

    /// The result of fitting on small runs and checking on large ones.
    public struct Report: Sendable {
        public var constants: ClusterConstants
        public var fitted: Accuracy
        public var heldOut: Accuracy
        public var fitAtMost: Int
        public var heldOutAtLeast: Int
    }

    /// Samples per second the planner predicts for `row`.
    public static func predictedSamplesPerSecond(_ row: ScalingTableRow, planner: RunPlanner) throws -> Double {
        let plan = try planner.plan(model: try row.modelShape(), layout: row.layout(gpusPerNode: planner.cluster.gpusPerNode))
        return plan.tokensPerSecond / Double(row.sequenceLength)
    }

    /// The accuracy of `planner` on `rows`.
    public static func accuracy(of planner: RunPlanner, on rows: [ScalingTableRow]) throws -> Accuracy {
        var errors: [(Double, ScalingTableRow)] = []
        for row in rows {
            errors.append((abs(try predictedSamplesPerSecond(row, planner: planner) / row.samplesPerSecond - 1), row))
        }
        let sorted = errors.map(\.0).sorted()
        let median =
            sorted.isEmpty
            ? .nan
            : sorted.count % 2 == 1
                ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let worst = errors.max { $0.0 < $1.0 }
        return Accuracy(rows: rows.count, medianError: median, worstError: worst?.0 ?? .nan, worstRow: worst?.1)
    }

    /// Fits the constants of `start` that ``ClusterConstants`` marks as fitted on `rows`: least squares of the log
    /// of samples/s, Nelder–Mead in log space from `start` and from 11 seeded perturbations of it.
    public static func fit(rows: [ScalingTableRow], accelerator: Accelerator, start: ClusterConstants) throws -> ClusterConstants {
        let shapes = try rows.map { try $0.modelShape() }
        let layouts = rows.map { $0.layout(gpusPerNode: start.gpusPerNode) }
        let measured = rows.map { log($0.samplesPerSecond) }
        func loss(_ logs: [Double]) -> Double {
            let values = logs.map { exp($0) }
            guard values[0] <= 1, values[3] <= 1 else { return .infinity }
            let planner = RunPlanner(accelerator: accelerator, cluster: start.fitted(values))
            var sum = 0.0
            for i in rows.indices {
                let time = planner.stepTime(model: shapes[i], layout: layouts[i])
                let samples = Double(layouts[i].sequencesPerStep) / time.step
                sum += pow(log(samples) - measured[i], 2)
            }
            return sum.isFinite ? sum : .infinity
        }
        let origin = start.fittedValues.map { log(max($0, 1e-12)) }
        var random = SplitMix64(seed: 2024)
        var best = NelderMead().minimize(loss, start: origin)
        for _ in 0..<11 {
            var point = origin.map { $0 + 0.7 * random.nextGaussian() }
            point[0] = min(point[0], 0)
            point[3] = min(point[3], 0)
            let candidate = NelderMead().minimize(loss, start: point)
            if candidate.value < best.value { best = candidate }
        }
        return start.fitted(best.point.map { exp($0) })
    }

    /// Fits on the rows with at most `fitAtMost` GPUs and measures the error on those with at least
    /// `heldOutAtLeast`.
    public static func report(
        rows: [ScalingTableRow], accelerator: Accelerator, start: ClusterConstants, fitAtMost: Int = 16, heldOutAtLeast: Int = 64
    ) throws -> Report {
        let small = rows.filter { $0.gpus <= fitAtMost }
        let large = rows.filter { $0.gpus >= heldOutAtLeast }
        guard !small.isEmpty else { throw PlanningError.unsupported("no rows with at most \(fitAtMost) GPUs to fit on") }
        let constants = try fit(rows: small, accelerator: accelerator, start: start)
        let planner = RunPlanner(accelerator: accelerator, cluster: constants)
        return Report(
            constants: constants, fitted: try accuracy(of: planner, on: small), heldOut: try accuracy(of: planner, on: large),
            fitAtMost: fitAtMost, heldOutAtLeast: heldOutAtLeast)
    }
}

/// A small seeded generator (SplitMix64) so that a calibration is the same on every machine.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in (0, 1).
    mutating func nextUniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

    /// A standard normal value (Box–Muller).
    mutating func nextGaussian() -> Double {
        sqrt(-2 * log(nextUniform())) * cos(2 * Double.pi * nextUniform())
    }
}
