import Checkpointing
import Foundation
import Interop
import Testing

/// Pipeline parallelism through the whole job (`pipeline/staged`, `builder`, `scheduled`, `selector` as Modalities'
/// PP configs wire them), on CPU ranks started by `launch`, against the one-rank trajectory of the same global batch
/// and untied model. Micro batches add their gradients in another order than one backward over the batch (float32
/// rounding, ~1e-7 relative per step), within the suite's tolerances.
@Suite struct PipelineParallelTrainingTests {
    static func run(ranks: Int, microBatch: Int, accumulation: Int, engine: DistributedRun.Engine) throws -> DistributedRun {
        var run = try DistributedRun(
            ranks: ranks, microBatch: microBatch, accumulation: accumulation, engine: engine, keepAllCheckpoints: true)
        run.tiedWeights = false
        return run
    }

    /// 1F1B over 2 ranks trains the one-rank trajectory; its checkpoint holds each pipeline rank's stages in a block of
    /// shards, which one rank, 2 FSDP shards × 2 pipeline ranks under GPipe and 2 pipeline × 2 tensor-parallel ranks
    /// continue from (layout changes); two stages per rank under Interleaved1F1B train the same trajectory, and under
    /// InterleavedZeroBubble continue it; the last checkpoint exports to Hugging Face whole.
    @Test func pipelineRanksFollowTheOneRankTrajectory() throws {
        let single = try Self.run(ranks: 1, microBatch: 2, accumulation: 2, engine: .replicated).losses()
        let tolerance = FullyShardedTrainingTests.normTolerance

        let oneForwardOneBackward = try Self.run(
            ranks: 2, microBatch: 2, accumulation: 2, engine: .pipeline(schedule: "1F1B", layersPerStage: 2))
        let losses = try oneForwardOneBackward.losses()
        #expect(losses.count == 16)
        DistributedRun.expectSameTrajectory(losses, single, "pp 2, 1F1B", normTolerance: tolerance)

        let checkpoint = try oneForwardOneBackward.checkpoint(afterSteps: 12)
        let reader = try CheckpointReader(folder: checkpoint)
        #expect(reader.pipelineDegree == 2 && reader.shardCount == 2)
        #expect(try reader.parameter("transformer.wte.weight").shape == [50304, 32])
        #expect(try reader.parameter("transformer.lm_head.weight").shape == [50304, 32])
        let alone = try Self.run(ranks: 1, microBatch: 2, accumulation: 2, engine: .sharded).warmstart(from: checkpoint)
        #expect(alone.keys.sorted() == Array(13...16))
        DistributedRun.expectSameTrajectory(alone, single, "pp 2 → 1 rank", normTolerance: tolerance)

        let sharded = try Self.run(ranks: 4, microBatch: 2, accumulation: 1, engine: .pipeline(schedule: "gpipe", layersPerStage: 2))
            .warmstart(from: try oneForwardOneBackward.checkpoint(afterSteps: 8))
        #expect(sharded.keys.sorted() == Array(9...16))
        DistributedRun.expectSameTrajectory(sharded, single, "pp 2 → fsdp 2 × pp 2, GPipe", normTolerance: tolerance)
        // Each stage split over 2 tensor-parallel ranks as well (Modalities' PP × TP layout, loss parallelism on).
        let split = try Self.run(
            ranks: 4, microBatch: 2, accumulation: 2, engine: .pipeline(schedule: "1F1B", layersPerStage: 2, tensorParallel: 2)
        ).warmstart(from: checkpoint)
        #expect(split.keys.sorted() == Array(13...16))
        DistributedRun.expectSameTrajectory(split, single, "pp 2 → pp 2 × tp 2, 1F1B", normTolerance: tolerance)

        let interleaved = try Self.run(
            ranks: 2, microBatch: 2, accumulation: 2, engine: .pipeline(schedule: "Interleaved1F1B", layersPerStage: 1)
        ).losses()
        DistributedRun.expectSameTrajectory(interleaved, single, "pp 2, Interleaved1F1B", normTolerance: tolerance)
        // The zero-bubble schedule (input and weight gradients apart) continues the 1F1B run's checkpoint.
        let zeroBubble = try Self.run(
            ranks: 2, microBatch: 2, accumulation: 2, engine: .pipeline(schedule: "InterleavedZeroBubble", layersPerStage: 1)
        ).warmstart(from: checkpoint)
        #expect(zeroBubble.keys.sorted() == Array(13...16))
        DistributedRun.expectSameTrajectory(zeroBubble, single, "pp 2 → pp 2, InterleavedZeroBubble", normTolerance: tolerance)

        let exported = oneForwardOneBackward.root + "/hf"
        let (status, output) = try DistributedLaunchTests().launch([
            "convert_to_hf", "--checkpoint", try oneForwardOneBackward.checkpoint(afterSteps: 16), "--output", exported,
        ])
        #expect(status == 0, "\(output)")
        let weights = try SafeTensorsFile(path: exported + "/model.safetensors")
        #expect(try weights.tensor("model.embed_tokens.weight").shape == [50304, 32])
        #expect(try weights.tensor("lm_head.weight").shape == [50304, 32])
    }
}
