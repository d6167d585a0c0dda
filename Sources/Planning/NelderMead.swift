/// Nelder–Mead simplex minimisation (the standard reflection, expansion, contraction and shrink steps), for the
/// calibration's handful of constants.
struct NelderMead {
    var maxIterations = 3000
    /// Stops when the simplex's values differ by less than this.
    var tolerance = 1e-12

    /// The point near `start` where `f` is smallest, and its value; `scale` sizes the first simplex.
    func minimize(_ f: ([Double]) -> Double, start: [Double], scale: Double = 0.5) -> (point: [Double], value: Double) {
        let n = start.count
        var simplex =
            [start]
            + (0..<n).map { i in
                var point = start
                point[i] += scale
                return point
            }
        var values = simplex.map(f)
        for _ in 0..<maxIterations {
            let order = values.indices.sorted { values[$0] < values[$1] }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            if abs(values[n] - values[0]) < tolerance { break }
            let centroid = (0..<n).map { i in simplex[0..<n].reduce(0) { $0 + $1[i] } / Double(n) }
            func along(_ t: Double) -> [Double] { (0..<n).map { centroid[$0] + t * (simplex[n][$0] - centroid[$0]) } }
            let reflected = along(-1)
            let reflectedValue = f(reflected)
            if reflectedValue < values[0] {
                let expanded = along(-2)
                let expandedValue = f(expanded)
                (simplex[n], values[n]) = expandedValue < reflectedValue ? (expanded, expandedValue) : (reflected, reflectedValue)
            } else if reflectedValue < values[n - 1] {
                (simplex[n], values[n]) = (reflected, reflectedValue)
            } else {
                let contracted = reflectedValue < values[n] ? along(-0.5) : along(0.5)
                let contractedValue = f(contracted)
                if contractedValue < min(reflectedValue, values[n]) {
                    (simplex[n], values[n]) = (contracted, contractedValue)
                } else {
                    for i in 1...n {
                        simplex[i] = (0..<n).map { simplex[0][$0] + 0.5 * (simplex[i][$0] - simplex[0][$0]) }
                        values[i] = f(simplex[i])
                    }
                }
            }
        }
        let best = values.indices.min { values[$0] < values[$1] }!
        return (simplex[best], values[best])
    }
}
