import Foundation

/// One row of Modalities' published scaling tables (`docs/scaling_experiments/scaling_*.md`): a measured FSDP run.
public struct ScalingTableRow: Sendable, Equatable {
    /// The file's line the row is on.
    public var line: Int
    /// The model size as the table names it, in billions ("2.7", "6.7", "13", "28").
    public var sizeLabel: String
    public var gpus: Int
    public var samplesPerSecond: Double
    public var gradientAccumulationSteps: Int
    public var microBatchSize: Int
    public var sequenceLength: Int
    public var sharding: ParallelLayout.Sharding
    public var activationCheckpointing: Bool
    /// "NVIDIA A100" or "NVIDIA H100".
    public var gpuType: String
    public var mfu: Double

    /// The model shape the row's numbers imply. The tables give only the size; their MFU column divides by
    /// 72·L·d² + 12·L·T·d FLOPs per token, which with two sequence lengths pins L·d and then d: 2.7B is 32 × 2560,
    /// 6.7B 32 × 4096, 13B 40 × 5120, 28B 52 × 6656 (GPT-3's shapes; GELU feed-forward of 4·d, heads of 128).
    /// The vocabulary is taken as GPT-2's padded 50,304.
    public func modelShape() throws -> ModelShape {
        let shapes: [String: (layers: Int, width: Int)] = ["2.7": (32, 2560), "6.7": (32, 4096), "13": (40, 5120), "28": (52, 6656)]
        guard let shape = shapes[sizeLabel] else {
            throw PlanningError.unsupported("no model shape known for a \(sizeLabel)B model (line \(line))")
        }
        return ModelShape(
            layerCount: shape.layers, embeddingSize: shape.width, queryHeads: shape.width / 128, keyValueHeads: shape.width / 128,
            feedForwardHidden: 4 * shape.width, gatedFeedForward: false, vocabularySize: 50_304, sequenceLength: sequenceLength)
    }

    /// The table's own FLOPs per token (its MFU column's formula: non-embedding parameters).
    public func tableFlopsPerToken() throws -> Double {
        let shape = try modelShape()
        let (l, d, t) = (Double(shape.layerCount), Double(shape.embeddingSize), Double(sequenceLength))
        return 72 * l * d * d + 12 * l * t * d
    }

    /// The row's run as a layout on `gpusPerNode`-GPU nodes.
    public func layout(gpusPerNode: Int) -> ParallelLayout {
        ParallelLayout(
            gpus: gpus, gpusPerNode: gpusPerNode, sharding: sharding, shardGroupSize: sharding == .hybridShard ? gpusPerNode : nil,
            microBatchSize: microBatchSize, gradientAccumulationSteps: gradientAccumulationSteps,
            recomputedFraction: activationCheckpointing ? 1 : 0)
    }
}

/// Reads the Markdown tables of Modalities' scaling experiments.
public enum ScalingTable {
    static let columns = [
        "", "No. Parameters (B)", "GPUs", "Samples/s", "GradAccm", "MBS", "GBS", "Sequence Length", "Precision", "Sharding",
        "AC", "GPU Type", "MFU",
    ]

    /// The rows of the table in `file`; every malformed row is an error naming its line.
    public static func read(file: String) throws -> [ScalingTableRow] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw PlanningError.table(file: file, line: 0, message: "cannot be read")
        }
        return try parse(text, file: file)
    }

    /// The rows of a table's Markdown text.
    public static func parse(_ text: String, file: String) throws -> [ScalingTableRow] {
        var rows: [ScalingTableRow] = []
        var sawHeader = false
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("|") else { continue }
            let cells = line.dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let number = index + 1
            if !sawHeader {
                guard cells == columns else {
                    throw PlanningError.table(
                        file: file, line: number, message: "expected the columns \(columns.joined(separator: " | "))")
                }
                sawHeader = true
                continue
            }
            if cells.allSatisfy({ $0.allSatisfy { $0 == "-" || $0 == ":" } }) { continue }
            rows.append(try row(cells, line: number, file: file))
        }
        guard sawHeader else { throw PlanningError.table(file: file, line: 1, message: "no table found") }
        return rows
    }

    static func row(_ cells: [String], line: Int, file: String) throws -> ScalingTableRow {
        func fail(_ message: String) -> PlanningError { .table(file: file, line: line, message: message) }
        guard cells.count == columns.count else { throw fail("expected \(columns.count) cells, found \(cells.count)") }
        func integer(_ index: Int) throws -> Int {
            guard let value = Int(cells[index]), value > 0 else {
                throw fail("\(columns[index]) must be a positive integer, found '\(cells[index])'")
            }
            return value
        }
        func real(_ index: Int) throws -> Double {
            guard let value = Double(cells[index]), value.isFinite, value > 0 else {
                throw fail("\(columns[index]) must be a positive number, found '\(cells[index])'")
            }
            return value
        }
        guard let sharding = ParallelLayout.Sharding(rawValue: cells[9]), sharding != .replicate else {
            throw fail("Sharding must be FULL_SHARD, SHARD_GRAD_OP or HYBRID_SHARD, found '\(cells[9])'")
        }
        guard cells[10] == "True" || cells[10] == "False" else { throw fail("AC must be True or False, found '\(cells[10])'") }
        guard cells[8] == "BF_16" else { throw fail("only BF_16 runs are modelled, found '\(cells[8])'") }
        return ScalingTableRow(
            line: line, sizeLabel: cells[1], gpus: try integer(2), samplesPerSecond: try real(3),
            gradientAccumulationSteps: try integer(4), microBatchSize: try integer(5), sequenceLength: try integer(7),
            sharding: sharding, activationCheckpointing: cells[10] == "True", gpuType: cells[11], mfu: try real(12))
    }
}
