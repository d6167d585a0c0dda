import Checkpointing
import Foundation
import Interop
import Models
import Testing
import Torch

/// Fully sharded data parallelism (`model/fsdp2_wrapped` on several ranks) over processes talking Gloo.
///
/// Losses must follow the one-rank run within 1e-5 relative. Gradient norms get 1e-3: the one-rank norm sums each
/// whole gradient's squares in float32 while the sharded one sums chunks and then the chunks' results, and these
/// rounding differences (up to about 2e-5 for the 1.6M-element embedding) move Adam's steps on the embedding
/// rows that see tiny gradients a little (eps matters there); the losses show it stays well below 1e-5.
@Suite(.serialized) struct FullyShardedTrainingTests {
    static let normTolerance = 1e-3

    @Test func twoAndFourRanksAndHybridFollowTheOneRankTrajectory() throws {
        let single = try DistributedRun.oneRankTrajectory()
        #expect(single.count == 16)
        // Two ranks accumulate two micro batches (a reduce-scatter each); hybrid is 2 replicas × 2 shards; FSDP1's
        // SHARD_GRAD_OP keeps blocks gathered from forward to backward. Eight of the 16 steps each (the schedule is the
        // 16-step one); four plain shards train all 16 in warmstartReshardsFromFourRanksToTwoToOne.
        for (ranks, microBatch, accumulation, engine) in [
            (2, 1, 2, DistributedRun.Engine.sharded), (4, 1, 1, .hybrid), (2, 2, 1, .fsdp1("SHARD_GRAD_OP")),
        ] {
            var run = try DistributedRun(ranks: ranks, microBatch: microBatch, accumulation: accumulation, engine: engine)
            run.stopAfterSteps = 8
            let sharded = try run.losses()
            #expect(sharded.keys.sorted() == Array(1...8))
            DistributedRun.expectSameTrajectory(sharded, single, "\(ranks) ranks \(engine)", normTolerance: Self.normTolerance)
        }
    }

    /// `model/gpt2_tp` through the whole job, in the Llama form (GQA, RoPE, SwiGLU, RMSNorm, tied embeddings): two
    /// tensor-parallel ranks train the one-rank trajectory of the same global batch, and so do 2 FSDP shards × 2
    /// tensor-parallel ranks warmstarted from its checkpoint at step 8 (a layout change), and one rank from theirs at
    /// step 12, as do 2 DDP replicas × 2 tensor-parallel ranks. The split layers add their partial products in
    /// another order than the whole matmuls (float32 rounding, ~1e-7 relative per step), within the suite's
    /// tolerances. Checkpoints hold each piece once (slice-major shards), and the last exports to Hugging Face whole.
    @Test func tensorParallelRanksFollowTheOneRankTrajectory() throws {
        let single = try DistributedRun.oneRankTrajectory()
        var two = try DistributedRun(ranks: 2, microBatch: 2, accumulation: 2, engine: .tensorParallel(2), keepAllCheckpoints: true)
        two.stopAfterSteps = 8  // its checkpoint at step 8 is where the next layout starts
        let twoLosses = try two.losses()
        #expect(twoLosses.keys.sorted() == Array(1...8))
        DistributedRun.expectSameTrajectory(twoLosses, single, "2 ranks, tp 2", normTolerance: Self.normTolerance)

        let four = try DistributedRun(ranks: 4, microBatch: 1, accumulation: 2, engine: .tensorParallel(2), keepAllCheckpoints: true)
        let fourLosses = try four.warmstart(from: try two.checkpoint(afterSteps: 8))
        #expect(fourLosses.keys.sorted() == Array(9...16))
        DistributedRun.expectSameTrajectory(fourLosses, single, "tp 2 → fsdp 2 × tp 2", normTolerance: Self.normTolerance)

        let checkpoint = try four.checkpoint(afterSteps: 12)
        let reader = try CheckpointReader(folder: checkpoint)
        #expect(reader.tensorParallelDegree == 2 && reader.shardCount == 4)
        // A column-parallel (row-split) and a row-parallel (column-split) matrix come back whole.
        #expect(try reader.parameter("transformer.h.0.attn.k_attn.weight").shape == [16, 32])
        #expect(try reader.parameter("transformer.h.1.mlp.W_2.weight").shape.first == 32)
        let alone = try DistributedRun(ranks: 1, microBatch: 2, accumulation: 2, engine: .sharded).warmstart(from: checkpoint)
        #expect(alone.keys.sorted() == Array(13...16))
        DistributedRun.expectSameTrajectory(alone, single, "fsdp 2 × tp 2 → 1 rank", normTolerance: Self.normTolerance)
        // Replicated data parallelism around the split model (ddp_wrapped), from the same checkpoint.
        let replicated = try DistributedRun(ranks: 4, microBatch: 1, accumulation: 2, engine: .tensorParallelReplicated(2))
            .warmstart(from: checkpoint)
        #expect(replicated.keys.sorted() == Array(13...16))
        DistributedRun.expectSameTrajectory(replicated, single, "fsdp 2 × tp 2 → ddp 2 × tp 2", normTolerance: Self.normTolerance)

        let exported = four.root + "/hf"
        let (status, output) = try DistributedLaunchTests().launch([
            "convert_to_hf", "--checkpoint", try four.checkpoint(afterSteps: 16), "--output", exported,
        ])
        #expect(status == 0, "\(output)")
        let weights = try SafeTensorsFile(path: exported + "/model.safetensors")
        #expect(try weights.tensor("model.layers.0.self_attn.k_proj.weight").shape == [16, 32])
        #expect(try weights.tensor("model.embed_tokens.weight").shape == [50304, 32])
    }

    @Test func warmstartReshardsFromFourRanksToTwoToOne() throws {
        let single = try DistributedRun.oneRankTrajectory()
        let four = try DistributedRun(ranks: 4, microBatch: 1, accumulation: 1, engine: .sharded, keepAllCheckpoints: true)
        let fourLosses = try four.losses()
        DistributedRun.expectSameTrajectory(fourLosses, single, "4 ranks", normTolerance: Self.normTolerance)
        // The same layout continues exactly.
        let again = try DistributedRun(ranks: 4, microBatch: 1, accumulation: 1, engine: .sharded).warmstart(
            from: try four.checkpoint(afterSteps: 8))
        #expect(again.keys.sorted() == Array(9...16))
        for (step, value) in again {
            #expect(value.loss == fourLosses[step]?.loss && value.norm == fourLosses[step]?.norm, "4 → 4 ranks, step \(step)")
        }
        // 4 → 2 ranks from step 8, then 2 → 1 rank from step 12.
        let two = try DistributedRun(ranks: 2, microBatch: 2, accumulation: 1, engine: .sharded, keepAllCheckpoints: true)
        let twoLosses = try two.warmstart(from: try four.checkpoint(afterSteps: 8))
        #expect(twoLosses.keys.sorted() == Array(9...16))
        DistributedRun.expectSameTrajectory(twoLosses, single, "4 → 2 ranks", normTolerance: Self.normTolerance)
        let one = try DistributedRun(ranks: 1, microBatch: 2, accumulation: 2, engine: .sharded).warmstart(
            from: try two.checkpoint(afterSteps: 12))
        #expect(one.keys.sorted() == Array(13...16))
        DistributedRun.expectSameTrajectory(one, single, "2 → 1 rank", normTolerance: Self.normTolerance)

        // A sharded checkpoint exports to Hugging Face whole.
        let exported = four.root + "/hf"
        let (status, output) = try DistributedLaunchTests().launch([
            "convert_to_hf", "--checkpoint", try four.checkpoint(afterSteps: 16), "--output", exported,
        ])
        #expect(status == 0, "\(output)")
        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: exported + "/config.json"))) as? [String: Any]
        #expect(config?["vocab_size"] as? Int == 50304)
    }

    @Test func fsdp1CheckpointFilesHoldTheWholeStateWhateverTheSharding() throws {
        var single = try DistributedRun(ranks: 1, microBatch: 2, accumulation: 2, engine: .replicated)
        single.fsdp1Checkpoints = true
        var sharded = try DistributedRun(ranks: 2, microBatch: 2, accumulation: 1, engine: .sharded)
        sharded.fsdp1Checkpoints = true
        _ = try single.losses()
        _ = try sharded.losses()
        func files(_ run: DistributedRun) throws -> (model: TorchCheckpoint, optimizer: TorchCheckpoint, names: [String]) {
            let folder = run.root + "/checkpoints"
            let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            let info =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/last_checkpoint_info.json")))
                as? [String: String]
            let model = try #require(info?["model_checkpoint_path"]), optimizer = try #require(info?["optimizer_checkpoint_path"])
            #expect(model.hasSuffix("/eid_run-model-seen_steps_16-seen_tokens_4096-target_steps_16-target_tokens_4096.bin"))
            return (try TorchCheckpoint(path: model), try TorchCheckpoint(path: optimizer), names)
        }
        let (singleModel, singleOptimizer, singleNames) = try files(single)
        let (shardedModel, shardedOptimizer, shardedNames) = try files(sharded)
        // k = 2: the files of steps 12 and 16 remain, and the info file.
        #expect(singleNames == shardedNames)
        #expect(singleNames.filter { $0.hasSuffix(".bin") }.count == 4 && singleNames.allSatisfy { !$0.contains("seen_steps_8-") })
        // Tied weights appear under both names, as state_dict() has them; the sharded run's tensors are whole.
        #expect(singleModel.tensors["transformer.lm_head.weight"]?.shape == [50304, 32])
        #expect(Set(singleModel.tensors.keys) == Set(shardedModel.tensors.keys))
        for (name, expected) in singleModel.tensors {
            let actual = try #require(shardedModel.tensors[name])
            #expect(actual.shape == expected.shape, "\(name)")
            #expect(try (actual - expected).abs().max().item(Double.self) < 1e-4, "\(name)")
        }
        #expect(Set(singleOptimizer.tensors.keys) == Set(shardedOptimizer.tensors.keys))
        #expect(shardedOptimizer.tensors["state.transformer.wte.weight.exp_avg"]?.shape == [50304, 32])
        #expect(try shardedOptimizer.tensors["state.transformer.wte.weight.step"]?.item(Float.self) == 16)
        #expect(shardedOptimizer.values["param_groups.0.params.0"] != nil)
    }

    /// Parameters, gradients and Adam's moments on one rank, counted by the allocator (`modalities sharding_check`).
    func stateBytes(
        ranks: Int, engine: String, meta: Bool = false
    ) throws -> (state: Int, unit: Int, model: Int, loss: String, setupPeak: Int) {
        let (status, output) = try DistributedLaunchTests().launch(
            [
                "launch", "--nproc_per_node", String(ranks), "--master_port",
                DistributedLaunchTests.port(), "--", "sharding_check", "--engine", engine,
            ]
                + (meta ? ["--meta"] : []))
        #expect(status == 0, "\(output.suffix(2000))")
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("rank 0 of") })
        let words = line.split(separator: " ").map { String($0).trimmingCharacters(in: .punctuationCharacters) }
        func value(after label: [String]) -> String {
            let index = (0...(words.count - label.count)).first { Array(words[$0..<($0 + label.count)]) == label }!
            return words[index + label.count]
        }
        return (
            Int(value(after: ["state", "bytes"]))!, Int(value(after: ["unit", "bytes"]))!, Int(value(after: ["model"]))!,
            value(after: ["last", "loss"]), Int(value(after: ["set-up", "peak", "bytes"]))!
        )
    }

    /// Tensor parallelism over Gloo: two ranks, each holding half of every split matrix, train the same steps as the
    /// whole model alone (`sharding_check --engine tp` prints both losses).
    @Test func tensorParallelRanksHoldHalfOfTheSplitLayersAndFollowOneRank() throws {
        let (status, output) = try DistributedLaunchTests().launch([
            "launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--", "sharding_check", "--engine", "tp",
        ])
        #expect(status == 0, "\(output.suffix(2000))")
        for rank in 0..<2 {
            let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("rank \(rank) of 2") }).split(separator: " ")
            func number(after label: String) -> Double? {
                line.firstIndex(of: Substring(label)).flatMap { Double(line[$0 + 1].trimmingCharacters(in: .punctuationCharacters)) }
            }
            let last = try #require(number(after: "loss"))
            let reference = try #require(line.lastIndex(of: "loss").flatMap { Double(line[$0 + 1]) })
            // The split layers add their partial products in another order than the whole matmul: float32 rounding.
            #expect(abs(last - reference) <= 1e-5 * abs(reference), "rank \(rank): \(last) vs \(reference)")
            // sharding_check's model (4 blocks of width 128, vocabulary 4096): its split matrices halve, the rest stays.
            let whole = try GPT2LLM(
                config: GPT2LLMConfig(
                    vocabularySize: 4096, sequenceLength: 32, layerCount: 4, queryHeads: 4, keyValueHeads: 4, embeddingSize: 128,
                    ffnHidden: 512,
                    bias: true, positionEmbedding: .absolute, activation: .gelu, attentionNorm: .init(kind: .layerNorm),
                    ffnNorm: .init(kind: .layerNorm), lmHeadNorm: .init(kind: .layerNorm), weightTying: false), deferAllocation: true)
            let local = whole.parameters.named.reduce(0) {
                $0 + (TensorParallelShard.split(of: $1.name) == .replicated ? $1.tensor.count : $1.tensor.count / 2)
            }
            #expect(number(after: "held").map(Int.init) == local * 4, "rank \(rank): \(line)")
            #expect(number(after: "model").map(Int.init) == whole.parameterCount * 4, "rank \(rank): the whole model's bytes")
        }
    }

    /// `use_meta_device`: the model is built without memory, sharded, then initialised one parameter at a time, so no
    /// rank ever holds it whole, and it trains exactly as the model built whole.
    @Test func deferredAllocationNeverHoldsTheWholeModel() throws {
        let whole = try stateBytes(ranks: 4, engine: "fsdp")
        let deferred = try stateBytes(ranks: 4, engine: "fsdp", meta: true)
        // Exact: the same ranks, engine and operations; only where the parameters were first allocated differs.
        #expect(deferred.loss == whole.loss, "the same initial values and steps")
        #expect(whole.setupPeak >= whole.model, "built whole: \(whole.setupPeak) bytes at the peak, model \(whole.model)")
        // A quarter of the parameters, plus the largest parameter's scratch (the 4096 × 128 embedding) and small tensors.
        let bound = whole.model / 4 + 4096 * 128 * 4 + 256 * 1024
        #expect(deferred.setupPeak <= bound, "deferred: \(deferred.setupPeak) bytes at the peak, bound \(bound), model \(whole.model)")
        let replicated = try stateBytes(ranks: 2, engine: "ddp")
        let replicatedDeferred = try stateBytes(ranks: 2, engine: "ddp", meta: true)
        #expect(
            replicatedDeferred.loss == replicated.loss, "DDP allocates deferred parameters with their starting values, then initialises")
    }

    @Test(arguments: [2, 4])
    func eachRankHoldsAboutOneNthOfTheModelState(ranks: Int) throws {
        let replicated = try stateBytes(ranks: ranks, engine: "ddp")
        let sharded = try stateBytes(ranks: ranks, engine: "fsdp")
        // The same step either way, but not the same additions: DDP all-reduces whole buckets, FSDP reduce-scatters
        // flat chunks, so each gradient element is a float32 sum of the N ranks' values in another order (a few ulps
        // apart, ~1e-7 relative). One Adam step normalises each element by its own magnitude, so the second step's
        // loss moves by a few float32 ulps of ~7.7 (6e-8 relative was seen on one CPU and 0 on another); 1e-5 relative
        // leaves a wide margin while any real difference in the step (a missing or doubled gradient) is 1e-3 or more.
        let (shardedLoss, replicatedLoss) = (try #require(Double(sharded.loss)), try #require(Double(replicated.loss)))
        #expect(
            Swift.abs(shardedLoss - replicatedLoss) <= 1e-5 * Swift.abs(replicatedLoss),
            "\(ranks) ranks: sharded loss \(sharded.loss), replicated \(replicated.loss)")
        // Within 10% of 1/N of the replicated state, plus one unsharded unit in flight.
        let bound = Int(1.1 * Double(replicated.state) / Double(ranks)) + sharded.unit
        #expect(sharded.state <= bound, "\(ranks) ranks: \(sharded.state) bytes sharded, \(replicated.state) replicated, bound \(bound)")
        // Parameters, gradients and two moments: four times the model's bytes, of which each rank holds its part.
        #expect(sharded.state >= 4 * sharded.model / ranks, "the shards hold the whole model between them")
    }
}
