import Distributed
import Models

/// What Modalities' `pipeline/*` components pass between them: this rank's stages, its model parts and, once
/// `pipeline/scheduled` made it, the schedule that runs them (Modalities' `Pipeline`).
public final class Pipeline {
    /// This rank's stages and how they reach the other ranks' (Modalities' `pp_stages`).
    public let stages: PipelineStages
    /// This rank's model parts, with their wrappers (Modalities' `model_parts`).
    public let modelParts: PipelineModelParts
    /// The schedule over the parts (Modalities' `pp_schedule`); nil until `pipeline/scheduled`.
    public let scheduled: ScheduledPipeline?

    public init(stages: PipelineStages, modelParts: PipelineModelParts, scheduled: ScheduledPipeline? = nil) throws {
        guard stages.layouts == modelParts.layouts else {
            throw ParallelismError.invalidConfig(
                "the model parts hold stages \(modelParts.layouts.map(\.index)), the pipeline's stages are \(stages.layouts.map(\.index))")
        }
        self.stages = stages
        self.modelParts = modelParts
        self.scheduled = scheduled
    }
}

/// The stages one rank holds and the transport to its pipeline peers (what `selection_type: PP_STAGE` selects).
public struct PipelineStages {
    public let layouts: [PipelineStageLayout]
    public let transport: any PipelineTransport
    /// The schedule the stages were assigned for (it decides which stages a rank holds).
    public let scheduleKind: PipelineSchedule.Kind

    public init(layouts: [PipelineStageLayout], transport: any PipelineTransport, scheduleKind: PipelineSchedule.Kind) {
        self.layouts = layouts
        self.transport = transport
        self.scheduleKind = scheduleKind
    }
}
