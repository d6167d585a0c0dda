import Foundation

/// A line chart drawn as SVG: one polyline per series, axes with round tick values, a legend.
struct LineChart {
    struct Series {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var width = 560.0
    var height = 340.0
    /// Logarithmic y axis (positive values only).
    var logarithmicY = false

    /// Colours that stay apart from one another (Tableau 10), then repeating.
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    var isEmpty: Bool { series.allSatisfy { $0.points.isEmpty } }

    /// Legend rows under the plot: two runs per row.
    var legendRows: Int { (series.count + 1) / 2 }

    /// The height of the whole image, legend included.
    var totalHeight: Double { height + Double(legendRows) * 16 }

    func svg() -> String {
        let left = 64.0, right = 16.0, top = 34.0, bottom = 46.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let height = totalHeight
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logarithmicY || $0.y > 0) }
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"
        out += "<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>"
        // The legend: a short stroke and the run's name, two per row below the axis label.
        for (index, entry) in series.enumerated() {
            let x = left + Double(index % 2) * plotWidth / 2, y = self.height + 6 + Double(index / 2) * 16
            out += "<line x1=\"\(x)\" y1=\"\(y - 4)\" x2=\"\(x + 14)\" y2=\"\(y - 4)\" stroke=\"\(entry.color)\" stroke-width=\"2\"/>"
            out += "<text x=\"\(x + 20)\" y=\"\(y)\" font-size=\"11\">\(escape(entry.label))</text>"
        }
        guard let xMin = points.map(\.x).min(), let xMax = points.map(\.x).max(),
            let yMinRaw = points.map(\.y).min(), let yMaxRaw = points.map(\.y).max()
        else {
            return out + "<text x=\"\(width / 2)\" y=\"\(self.height / 2)\" text-anchor=\"middle\" fill=\"#888\">no data</text></svg>"
        }
        let transform: (Double) -> Double = logarithmicY ? { log10($0) } : { $0 }
        var (yMin, yMax) = (transform(yMinRaw), transform(yMaxRaw))
        if yMax - yMin < 1e-12 { (yMin, yMax) = (yMin - 0.5, yMax + 0.5) }
        let padding = (yMax - yMin) * 0.05
        (yMin, yMax) = (yMin - padding, yMax + padding)
        let (x0, x1) = xMax - xMin < 1e-12 ? (xMin - 0.5, xMax + 0.5) : (xMin, xMax)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (transform(y) - yMin) / (yMax - yMin)) * plotHeight }
        // Axes and grid.
        out += "<g font-size=\"11\" fill=\"#333\">"
        for tick in Self.ticks(x0, x1) {
            let x = px(tick)
            out += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + plotHeight)\" stroke=\"#eee\"/>"
            out += "<text x=\"\(x)\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(Self.format(tick))</text>"
        }
        let yTicks = logarithmicY ? Self.ticks(yMin, yMax).map { pow(10, $0) } : Self.ticks(yMin, yMax)
        for tick in yTicks {
            let y = py(tick)
            out += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotWidth)\" y2=\"\(y)\" stroke=\"#eee\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(Self.format(tick))</text>"
        }
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#999\"/>"
        out += "<text x=\"\(left + plotWidth / 2)\" y=\"\(self.height - 8)\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        out += "<text transform=\"translate(14 \(top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text></g>"
        // One curve per series; a single point shows as a dot.
        for entry in series {
            let visible = entry.points.filter { $0.x.isFinite && $0.y.isFinite && (!logarithmicY || $0.y > 0) }.sorted { $0.x < $1.x }
            guard !visible.isEmpty else { continue }
            let coordinates = visible.map { String(format: "%.2f,%.2f", px($0.x), py($0.y)) }.joined(separator: " ")
            out +=
                "<polyline class=\"curve\" data-run=\"\(escape(entry.label))\" fill=\"none\" stroke=\"\(entry.color)\" stroke-width=\"2.5\" points=\"\(coordinates)\"/>"
            if visible.count == 1 {
                out += "<circle cx=\"\(px(visible[0].x))\" cy=\"\(py(visible[0].y))\" r=\"4\" fill=\"\(entry.color)\"/>"
            }
        }
        return out + "</svg>"
    }

    /// About five round values covering [low, high].
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        guard high > low else { return [low] }
        let rough = (high - low) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var tick = ceil(low / step) * step
        var ticks: [Double] = []
        while tick <= high + step * 1e-9 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return ticks
    }

    static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude == 0 { return "0" }
        if magnitude >= 1e6 || magnitude < 1e-3 { return String(format: "%.1e", value) }
        if magnitude >= 1000 { return String(format: "%.0f", value) }
        return String(format: "%g", (value * 1000).rounded() / 1000)
    }
}

/// Text made safe for HTML and SVG.
func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
