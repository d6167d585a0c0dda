/// Predicts a run's per-GPU memory, step time, throughput, MFU and GPU-hours from its model shape and parallel
/// layout, with a compute model (FLOPs at an efficiency that grows with the per-GPU work) and a latency–bandwidth
/// model of each collective the layout issues, per level (NVLink inside a node, the network between nodes).
public struct RunPlanner: Sendable {
    /// What the devices are, as the report names them ("H100", "CPU").
    public var deviceName: String
    /// Dense FLOP/s of one device: bf16 peak of a GPU; for ranks sharing a CPU, the machine's (divided among them).
    public var peakFlopsPerSecond: Double
    /// All ranks share one machine's cores (CPU ranks): each computes at ``peakFlopsPerSecond`` / ranks.
    public var sharesOneMachine: Bool
    public var cluster: ClusterConstants
    /// Bytes of one device's memory.
    public var memoryBytes: Double
    /// Where the constants come from, when not from a table of this device (printed with the plan).
    public var calibrationNote: String?

    /// A planner for `accelerator`, with the constants of its calibrated cluster unless given.
    public init(accelerator: Accelerator, cluster: ClusterConstants? = nil, memoryBytes: Double? = nil) {
        self.init(
            deviceName: accelerator.rawValue.uppercased(), peakFlopsPerSecond: accelerator.peakFlopsPerSecond, sharesOneMachine: false,
            cluster: cluster ?? accelerator.cluster, memoryBytes: memoryBytes ?? accelerator.memoryBytes,
            calibrationNote: accelerator.isCalibrated ? nil : "scaled by peak: not calibrated on this GPU")
    }

    init(
        deviceName: String, peakFlopsPerSecond: Double, sharesOneMachine: Bool, cluster: ClusterConstants, memoryBytes: Double,
        calibrationNote: String?
    ) {
        self.deviceName = deviceName
        self.peakFlopsPerSecond = peakFlopsPerSecond
        self.sharesOneMachine = sharesOneMachine
        self.cluster = cluster
        self.memoryBytes = memoryBytes
        self.calibrationNote = calibrationNote
    }

    /// Ranks on one machine's CPU cores with Gloo between them (`launch --nproc_per_node N`): compute at the rate one
    /// rank measured for the same config (``cpuFlopsPerSecond(model:layout:stepSeconds:)``), shared among the ranks;
    /// every collective a Gloo ring with the measured step latency and bandwidth, none hidden behind compute.
    public static func cpu(
        machineFlopsPerSecond: Double, glooStepLatency: Double, glooBandwidth: Double, memoryBytes: Double
    ) -> RunPlanner {
        let gloo = ClusterConstants(
            name: "this machine (Gloo)", gpusPerNode: Int.max / 2, peakEfficiency: 1, halfEfficiencyWork: 0,
            interNodeStepLatency: glooStepLatency, overlap: 0, interNodeBandwidth: glooBandwidth, intraNodeBandwidth: glooBandwidth,
            intraNodeStepLatency: glooStepLatency, runtimeOverheadBytes: 0)
        return RunPlanner(
            deviceName: "CPU", peakFlopsPerSecond: machineFlopsPerSecond, sharesOneMachine: true, cluster: gloo,
            memoryBytes: memoryBytes, calibrationNote: "compute rate from one rank's measured step; Gloo latency and bandwidth measured")
    }

    /// The FLOP/s a single rank reached when one step of `layout` (one rank) took `stepSeconds`: what
    /// ``cpu(machineFlopsPerSecond:glooStepLatency:glooBandwidth:memoryBytes:)`` predicts the ranks from.
    public static func cpuFlopsPerSecond(model: ModelShape, layout: ParallelLayout, stepSeconds: Double) -> Double {
        let tokens = Double(layout.microBatchSize * layout.gradientAccumulationSteps * model.sequenceLength)
        return tokens * model.executedFlopsPerToken(recomputedFraction: layout.recomputedFraction) / stepSeconds
    }

    /// FLOP/s one rank computes at on `ranks` ranks.
    func devicePeak(ranks: Int) -> Double { sharesOneMachine ? peakFlopsPerSecond / Double(max(ranks, 1)) : peakFlopsPerSecond }

    /// The prediction for one layout.
    /// - Parameter targetTokens: tokens the whole run trains on (`num_target_tokens`), for its GPU-hours.
    public func plan(model: ModelShape, layout: ParallelLayout, targetTokens: Int? = nil) throws -> RunPlan {
        let problems = layout.problems()
        guard problems.isEmpty else { throw PlanningError.invalidLayout(problems) }
        let time = stepTime(model: model, layout: layout)
        let memory = self.memory(model: model, layout: layout)
        let available = sharesOneMachine ? memoryBytes / Double(layout.gpus) : memoryBytes
        let tokensPerStep = Double(layout.sequencesPerStep * model.sequenceLength)
        let tokensPerSecond = tokensPerStep / time.step
        let mfu = tokensPerSecond * model.mfuFlopsPerToken / (devicePeak(ranks: layout.gpus) * Double(layout.gpus))
        let gpuHours = targetTokens.map { Double($0) / tokensPerSecond * Double(layout.gpus) / 3600 }
        return RunPlan(
            layout: layout, memory: memory, fits: memory.total <= available, memoryBytes: available, time: time,
            tokensPerSecond: tokensPerSecond, mfu: mfu, gpuHours: gpuHours)
    }

    /// The compute efficiency at `work` (tokens per micro-batch × width per tensor-parallel rank).
    func efficiency(work: Double) -> Double {
        cluster.halfEfficiencyWork == 0 ? cluster.peakEfficiency : cluster.peakEfficiency * work / (work + cluster.halfEfficiencyWork)
    }

    /// One step's time: compute, then the collectives' latency (never hidden) and the part of their transfer time
    /// that compute does not hide, the pipeline's bubble and its sends, and tensor parallelism's activation
    /// collectives (on the critical path).
    func stepTime(model: ModelShape, layout: ParallelLayout) -> StepTime {
        let tp = layout.tensorParallelDegree
        let pp = layout.pipelineParallelDegree
        let microBatch = pipelineMicroBatchSize(layout)
        let passes = layout.gradientAccumulationSteps * (pp > 1 ? max(layout.pipelineMicroBatches, 1) : 1)
        let tokensPerPass = Double(microBatch * model.sequenceLength)

        // Compute: this GPU's share of the executed FLOPs, at the efficiency of its work size.
        let flopsPerPass =
            tokensPerPass * model.executedFlopsPerToken(recomputedFraction: layout.recomputedFraction)
            / Double(tp * pp)
        let work = tokensPerPass * Double(model.embeddingSize) / Double(tp)
        let passSeconds = flopsPerPass / (devicePeak(ranks: layout.gpus) * efficiency(work: work))
        let compute = Double(passes) * passSeconds

        // Data parallelism: FSDP's all-gathers and reduce-scatters, one per unit (each block, and the embeddings
        // with the head), or the replicas' all-reduce (DDP, HSDP) once per step.
        let units = Double(model.layerCount) / Double(pp) + 1
        let stageParameters = Double(model.parameterCount) / Double(tp * pp)
        let (shard, replicas) = (layout.shardDegree, layout.replicaDegree)
        let shardPerNode = min(shard, max(1, layout.gpusPerNode / tp))
        let shardGroup = RingGroup(ranks: shard, ranksPerNode: shardPerNode, concurrentPerNode: 1)
        let replicaGroup = RingGroup(
            ranks: replicas, ranksPerNode: replicas == 1 ? 1 : max(1, min(replicas, layout.gpusPerNode / (shardPerNode * tp))),
            concurrentPerNode: shardPerNode)
        let gathersPerPass: Double
        switch layout.sharding {
        case .fullShard, .hybridShard: gathersPerPass = shard > 1 ? 2 : 0
        case .shardGradOp: gathersPerPass = shard > 1 ? 1 : 0
        case .replicate: gathersPerPass = 0
        }
        let scattersPerPass: Double = shard > 1 ? 1 : 0
        let gatherBytes = stageParameters * Double(layout.parameterBytes)
        let gradientBytes = stageParameters * Double(layout.reduceBytes)
        let gather = ring(shardGroup, bytes: gatherBytes, collectives: units, allReduce: false)
        let scatter = ring(shardGroup, bytes: gradientBytes, collectives: units, allReduce: false)
        let reduce = ring(replicaGroup, bytes: gradientBytes / Double(shard), collectives: units, allReduce: true)
        let perPass = CollectiveTime(
            latency: gathersPerPass * gather.latency + scattersPerPass * scatter.latency,
            transfer: gathersPerPass * gather.transfer + scattersPerPass * scatter.transfer)
        let latency = Double(passes) * perPass.latency + reduce.latency
        let transfer = Double(passes) * perPass.transfer + reduce.transfer
        // The first unit's gather and the last unit's reduction have no compute to hide behind.
        let unhidden = ((gathersPerPass > 0 ? gather.transfer : 0) + scattersPerPass * scatter.transfer + reduce.transfer) / units
        let dataParallel = latency + max(unhidden, transfer - cluster.overlap * compute)

        // Tensor parallelism (sequence parallel): per block, an all-gather before and a reduce-scatter after attention
        // and feed-forward, forward and backward, on activations; inside a node when it fits there.
        var tensorParallel = 0.0
        if tp > 1 {
            let activationBytes = tokensPerPass * Double(model.embeddingSize) * 2
            let group = RingGroup(ranks: tp, ranksPerNode: min(tp, layout.gpusPerNode), concurrentPerNode: 1)
            let blocks = Double(model.layerCount) / Double(pp)
            // One collective's latency and transfer, times the 8 collectives of each block in each pass.
            tensorParallel = Double(passes) * 8 * blocks * ring(group, bytes: activationBytes, collectives: 1, allReduce: false).total
        }

        // Pipeline parallelism: the bubble of (p − 1) passes (over the chunks per rank for interleaved schedules) and
        // one send and receive of activations and of their gradients per pass and stage boundary.
        var bubble = 0.0
        var pipelineSends = 0.0
        if pp > 1 {
            bubble = Double(pp - 1) * passSeconds / Double(max(layout.pipelineChunksPerRank, 1))
            let activationBytes = tokensPerPass * Double(model.embeddingSize) * 2 / Double(tp)
            let spans = layout.gpus / pp >= layout.gpusPerNode
            let send =
                spans
                ? cluster.interNodeStepLatency + activationBytes * Double(layout.gpusPerNode) / cluster.interNodeBandwidth
                : cluster.intraNodeStepLatency + activationBytes / cluster.intraNodeBandwidth
            pipelineSends = 2 * Double(passes + pp - 1) * send
        }
        let communication = Double(passes) * perPass.total + reduce.total + tensorParallel + pipelineSends
        let exposed = dataParallel + tensorParallel + pipelineSends
        return StepTime(
            compute: compute, bubble: bubble, exposedCommunication: exposed, communication: communication,
            efficiency: efficiency(work: work))
    }

    /// `collectives` ring collectives over `group` moving `bytes` in all (their full, unsharded sizes): the latency
    /// of their steps, and the transfer time at the bottleneck — NVLink inside a node; between nodes, what each node
    /// sends through its network links, for all the groups that run at once on it.
    func ring(_ group: RingGroup, bytes: Double, collectives: Double, allReduce: Bool) -> CollectiveTime {
        guard group.ranks > 1 else { return CollectiveTime(latency: 0, transfer: 0) }
        let n = Double(group.ranks)
        let passes: Double = allReduce ? 2 : 1
        guard group.ranks > group.ranksPerNode else {
            return CollectiveTime(
                latency: collectives * passes * (n - 1) * cluster.intraNodeStepLatency,
                transfer: passes * (n - 1) / n * bytes / cluster.intraNodeBandwidth)
        }
        let local = Double(group.ranksPerNode)
        let crossing = Double(group.concurrentPerNode) * local * (n - local) / n * bytes
        return CollectiveTime(
            latency: collectives * passes * (n - 1) * cluster.interNodeStepLatency,
            transfer: passes * crossing / cluster.interNodeBandwidth)
    }
}

/// The ranks of one kind of collective: how many, how many of them share a node, and how many such groups run at
/// once on a node (hybrid sharding's replicas: one all-reduce per shard rank).
struct RingGroup {
    var ranks: Int
    var ranksPerNode: Int
    var concurrentPerNode: Int
}

/// Seconds of one collective: its ring steps' latency and its bytes' transfer time.
struct CollectiveTime {
    var latency: Double
    var transfer: Double
    var total: Double { latency + transfer }
}

/// Errors of the planner: each names what is wrong.
public enum PlanningError: Error, CustomStringConvertible, Equatable {
    case invalidLayout([String])
    case unsupported(String)
    case table(file: String, line: Int, message: String)

    public var description: String {
        switch self {
        case .invalidLayout(let problems): return problems.joined(separator: "; ")
        case .unsupported(let message): return message
        case .table(let file, let line, let message): return "\(file):\(line): \(message)"
        }
    }
}
