import Planning
import Testing

@Suite struct RunPlannerTests {
    /// Llama-3-8B-like shape at sequence length 4096.
    static let model = ModelShape(
        layerCount: 32, embeddingSize: 4096, queryHeads: 32, keyValueHeads: 8, feedForwardHidden: 14336,
        gatedFeedForward: true, vocabularySize: 128_256, sequenceLength: 4096)

    @Test func shardingSpreadsStateOverMoreGPUs() throws {
        let planner = RunPlanner(accelerator: .h100)
        let eight = try planner.plan(model: Self.model, layout: ParallelLayout(gpus: 8, microBatchSize: 1))
        let sixtyFour = try planner.plan(model: Self.model, layout: ParallelLayout(gpus: 64, microBatchSize: 1))
        let n = Double(Self.model.parameterCount)
        // float32 master weights, gradients and two AdamW moments: 16 bytes per parameter, split over the shard.
        #expect(abs(eight.memory.parameters + eight.memory.gradients + eight.memory.optimizerState - 16 * n / 8) < 1)
        #expect(sixtyFour.memory.optimizerState * 8 == eight.memory.optimizerState)
        #expect(sixtyFour.memory.activations == eight.memory.activations)
        // Replicated (DDP): every GPU holds all of it.
        let replicated = try planner.plan(model: Self.model, layout: ParallelLayout(gpus: 8, sharding: .replicate))
        #expect(!replicated.fits)
        #expect(abs(replicated.memory.parameters - 4 * n) < 1)
    }

    @Test func activationCheckpointingTradesComputeForMemory() throws {
        let planner = RunPlanner(accelerator: .a100)
        let plain = try planner.plan(model: Self.model, layout: ParallelLayout(gpus: 16, microBatchSize: 2))
        let checkpointed = try planner.plan(
            model: Self.model, layout: ParallelLayout(gpus: 16, microBatchSize: 2, recomputedFraction: 1))
        // Blocks keep only their inputs (1/17 of their activations); the logits and their float32 copies stay.
        #expect(checkpointed.memory.activations < plain.memory.activations / 3)
        let ratio = checkpointed.time.compute / plain.time.compute
        let expected = Self.model.executedFlopsPerToken(recomputedFraction: 1) / Self.model.executedFlopsPerToken()
        #expect(abs(ratio - expected) < 1e-12)
        // The MFU formula does not count recomputation, so it drops.
        #expect(checkpointed.mfu < plain.mfu)
    }

    @Test func moreGPUsRaiseThroughputButScalingCostsPerGPU() throws {
        let planner = RunPlanner(accelerator: .h100)
        var previous: RunPlan?
        for gpus in [8, 64, 512] {
            let plan = try planner.plan(
                model: Self.model, layout: ParallelLayout(gpus: gpus, microBatchSize: 1), targetTokens: 1_000_000_000)
            if let previous {
                #expect(plan.tokensPerSecond > previous.tokensPerSecond)
                #expect(plan.tokensPerSecond / Double(gpus) <= previous.tokensPerSecond / Double(previous.layout.gpus))
                #expect(plan.gpuHours! >= previous.gpuHours!)
            }
            #expect(plan.time.step >= plan.time.compute)
            previous = plan
        }
    }

    @Test func tensorAndPipelineParallelismSplitComputeAndAddTheirCosts() throws {
        let planner = RunPlanner(accelerator: .h100)
        let dataParallel = try planner.plan(model: Self.model, layout: ParallelLayout(gpus: 16, microBatchSize: 4))
        let tensorParallel = try planner.plan(
            model: Self.model, layout: ParallelLayout(gpus: 16, tensorParallelDegree: 4, microBatchSize: 4))
        #expect(tensorParallel.layout.dataParallelDegree == 4)
        #expect(tensorParallel.memory.activations < dataParallel.memory.activations)
        #expect(tensorParallel.time.exposedCommunication > dataParallel.time.exposedCommunication)
        let pipelined = try planner.plan(
            model: Self.model,
            layout: ParallelLayout(gpus: 16, pipelineParallelDegree: 4, pipelineMicroBatches: 4, microBatchSize: 4))
        #expect(pipelined.time.bubble > 0)
        let interleaved = try planner.plan(
            model: Self.model,
            layout: ParallelLayout(
                gpus: 16, pipelineParallelDegree: 4, pipelineMicroBatches: 4, pipelineChunksPerRank: 2, microBatchSize: 4))
        #expect(abs(interleaved.time.bubble * 2 - pipelined.time.bubble) < 1e-12)
    }

    @Test func tensorParallelCommunicationGrowsLinearlyWithDepth() throws {
        // One TP group of 4 and no data parallelism: all communication is the sequence-parallel collectives, 8 per
        // block and pass, so twice the blocks is twice the time (not four times: each collective's latency once).
        let planner = RunPlanner(accelerator: .h100)
        var deeper = Self.model
        deeper.layerCount *= 2
        let layout = ParallelLayout(gpus: 4, tensorParallelDegree: 4, microBatchSize: 1)
        let shallowPlan = try planner.plan(model: Self.model, layout: layout)
        let deepPlan = try planner.plan(model: deeper, layout: layout)
        #expect(shallowPlan.time.communication > 0)
        #expect(abs(deepPlan.time.communication / shallowPlan.time.communication - 2) < 1e-9)
    }

    @Test func impossibleLayoutsNameTheirNumbers() {
        let planner = RunPlanner(accelerator: .b200)
        #expect(throws: PlanningError.invalidLayout(["6 GPUs cannot be split into tensor parallel degree 4 × pipeline parallel degree 1"]))
        {
            try planner.plan(model: Self.model, layout: ParallelLayout(gpus: 6, tensorParallelDegree: 4))
        }
        #expect(throws: PlanningError.self) { try planner.plan(model: Self.model, layout: ParallelLayout(gpus: 8, microBatchSize: 0)) }
    }
}
