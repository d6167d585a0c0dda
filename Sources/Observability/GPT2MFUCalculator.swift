/// Model FLOPs utilisation of GPT-style models (`mfu_calculator/gpt2`): FLOPs per token 6·N + 12·L·T·d as
/// Modalities computes them, against the peak bf16 throughput of all ranks' devices.
public struct GPT2MFUCalculator: Sendable {
    public let flopsPerToken: Double
    public let sequenceLength: Int
    /// Peak FLOP/s of all ranks together; nil when the device's peak is unknown (MFU is then -1, as in Modalities).
    public let peakFlopsPerSecond: Double?

    public init(parameterCount: Int, layerCount: Int, sequenceLength: Int, embeddingSize: Int, worldSize: Int, peakFlopsPerDevice: Double?)
    {
        flopsPerToken = 6 * Double(parameterCount) + 12 * Double(layerCount) * Double(sequenceLength) * Double(embeddingSize)
        self.sequenceLength = sequenceLength
        peakFlopsPerSecond = peakFlopsPerDevice.map { $0 * Double(worldSize) }
    }

    /// MFU at `samplesPerSecond` sequences per second over all ranks; -1 without a known peak (Modalities' value).
    public func mfu(samplesPerSecond: Double) -> Double {
        mfuResult(samplesPerSecond: samplesPerSecond).doubleValue
    }

    /// MFU as a result value: ``ResultValue/notComputed`` without a known peak.
    public func mfuResult(samplesPerSecond: Double) -> ResultValue {
        guard let peakFlopsPerSecond, peakFlopsPerSecond > 0 else { return .notComputed }
        return .number(samplesPerSecond * Double(sequenceLength) * flopsPerToken / peakFlopsPerSecond)
    }

    /// Peak dense bf16 FLOP/s of known accelerators by name (A100 312, H100/H200 989, B200 2250 TFLOP/s).
    public static func peakFlops(deviceName: String) -> Double? {
        let table: [(String, Double)] = [("A100", 312e12), ("H100", 989e12), ("H200", 989e12), ("B200", 2250e12), ("GH200", 989e12)]
        return table.first { deviceName.contains($0.0) }?.1
    }
}
