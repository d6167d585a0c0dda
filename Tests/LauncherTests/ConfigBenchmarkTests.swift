import Foundation
import Launcher
import Logging
import Testing

/// `modalities benchmark train --config F`: a config's own step, timed phase by phase, writing nothing.
@Suite(.serialized) struct ConfigBenchmarkTests {
    @Test func oneRankTimesEveryPhaseAndWritesNothing() throws {
        let jobs = TrainingJobTests()
        let root = try jobs.temporaryFolder()
        var options = TrainingJob.Options(
            configFilePath: TrainingJobTests.runConfig, experimentsRootPath: root, environment: jobs.environment,
            echoResults: false)
        options.logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        options.device = .cpu
        let result = try TrainingJob(options: options).benchmark(steps: 3, warmup: 1)
        #expect(result.ranks == 1 && result.device == .cpu)
        #expect(result.mfu > 0 && result.mfu <= 1, "mfu \(result.mfu): the CPU's peak is an upper bound")
        #expect(result.tokensPerStep == 256)
        #expect(Set(result.phaseSeconds.keys.map(\.rawValue)) == Set(StepPhaseTimerPhases.all))
        let sum = result.phaseSeconds.values.reduce(0, +)
        #expect(abs(sum - result.stepSeconds) < 1e-9 && result.stepSeconds > 0)
        #expect(result.communicationSeconds == 0, "one rank has no collectives in its step")
        #expect(result.finalLoss.isFinite && result.finalLoss > 0)
        #expect(abs(result.tokensPerSecond - 256 / result.stepSeconds) < 1e-6)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty, "a benchmark leaves no experiment folder")
    }

    @Test func profilingTimesTheOperatorsOfTheTimedStepsOnly() throws {
        let jobs = TrainingJobTests()
        var options = TrainingJob.Options(
            configFilePath: TrainingJobTests.runConfig, experimentsRootPath: try jobs.temporaryFolder(),
            environment: jobs.environment, echoResults: false)
        options.device = .cpu
        options.logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        // The fused optimizer's calls grow with the timed steps only: the warm-up is not counted.
        func optimizerCalls(steps: Int, warmup: Int) throws -> Int {
            let result = try TrainingJob(options: options).benchmark(steps: steps, warmup: warmup, profile: true)
            let names = Set(result.operators.map(\.name))
            #expect(names.contains("aten::mm") || names.contains("aten::addmm"), "\(names.sorted())")
            #expect(result.operators.map(\.selfSeconds) == result.operators.map(\.selfSeconds).sorted(by: >))
            return try #require(result.operators.first { $0.name.hasPrefix("aten::_fused_adam") }, "\(names.sorted())").calls
        }
        let twoSteps = try optimizerCalls(steps: 2, warmup: 0)
        #expect(twoSteps > 0)
        #expect(try optimizerCalls(steps: 2, warmup: 2) == twoSteps)
        #expect(try optimizerCalls(steps: 4, warmup: 1) == 2 * twoSteps)
        #expect(try TrainingJob(options: options).benchmark(steps: 1, warmup: 0).operators.isEmpty)
    }

    @Test func thePresetBenchmarkReportsMFUAgainstAnUpperBound() throws {
        let (status, output) = try DistributedLaunchTests().launch([
            "benchmark", "train", "--model", "cpu-small", "--steps", "2", "--warmup", "1",
        ])
        #expect(status == 0, "\(output.suffix(2000))")
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("{") }, "\(output.suffix(2000))")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let mfu = try #require(record["mfu"] as? Double), peak = try #require(record["peak_flops"] as? Double)
        #expect(mfu > 0 && mfu <= 1, "mfu \(mfu) against \(peak) FLOP/s (\(record["peak_source"] ?? "?"))")
        let measured = try #require(record["peak_measured_gemm_flops"] as? Double)
        #expect(peak >= measured && ["theoretical", "measured GEMM"].contains(record["peak_source"] as? String))
    }

    @Test func twoRanksReportTheirCommunication() throws {
        let (status, output) = try DistributedLaunchTests().launch([
            "launch", "--nproc_per_node", "2", "--master_port", DistributedLaunchTests.port(), "--",
            "benchmark", "train", "--config", TrainingJobTests.runConfig, "--steps", "2",
            "--warmup", "1",
        ])
        #expect(status == 0, "\(output.suffix(2000))")
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("{") }, "\(output.suffix(2000))")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(record["ranks"] as? Int == 2 && record["tokens_per_step"] as? Int == 512)
        // Sharded (fsdp2_wrapped): all-gathers in forward and backward, reduce-scatters of the gradients.
        #expect((record["communication_ms"] as? Double ?? 0) > 0)
        for phase in StepPhaseTimerPhases.all { #expect(record[phase + "_ms"] is Double, "\(phase)") }
    }
}

/// The phase names as `benchmark train --config` prints them.
enum StepPhaseTimerPhases {
    static let all = ["data_wait", "forward", "backward", "gradient_sync", "optimizer"]
}
