import Checkpointing
import Foundation
import Interop
import Models
import Testing
import Torch
import Training

@Suite(.serialized) struct CheckpointingTests {
    func model(seed: UInt64) throws -> GPT2LLM {
        let norm = GPT2LLMConfig.Norm(kind: .rmsNorm, epsilon: 1e-6, bias: false)
        let model = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 32, sequenceLength: 8, layerCount: 1, queryHeads: 2, keyValueHeads: 1, embeddingSize: 16, ffnHidden: 32,
                bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, activation: .swiglu, attentionNorm: norm, ffnNorm: norm,
                lmHeadNorm: norm, weightTying: false), seed: seed)
        try ComposedInitialization(weightInitType: .plain, mean: 0, std: .value(0.02), layerCount: nil).initialize(
            model.parameters, seed: seed)
        return model
    }

    func appState(seed: UInt64) throws -> AppState {
        let model = try model(seed: seed)
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 1e-3, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0.1,
            excludedGroups: ["embedding"], decoupledWeightDecay: true)
        let scheduler = LearningRateScheduler(optimizer: optimizer, schedule: .linear(startFactor: 0.5, endFactor: 1, totalIters: 10))
        return try AppState(model: model, optimizer: optimizer, scheduler: scheduler)
    }

    /// One optimizer step on random inputs so the optimizer has state.
    func step(_ state: AppState) throws {
        let inputs = try Tensor.randint(0, 32, [2, 8], generator: Generator(seed: 9))
        try state.model.forward(["input_ids": inputs], training: true)["logits"]!.pow(2).mean().backward()
        try state.optimizer.step()
        state.scheduler?.step()
        try state.optimizer.zeroGrad()
    }

    func temporaryFolder() -> String { NSTemporaryDirectory() + "checkpoint-" + UUID().uuidString }

    let progress: TrainingProgress = {
        var progress = TrainingProgress(numSeenStepsPreviousRun: 0, numSeenTokensPreviousRun: 0, numTargetSteps: 10, numTargetTokens: 160)
        progress.numSeenStepsCurrentRun = 2
        progress.numSeenTokensCurrentRun = 32
        return progress
    }()

    /// Plain gradient descent: an optimizer other than Adam, through the `Optimizer` protocol.
    final class GradientDescent: Optimizer {
        let model: any Model
        let baseLearningRate: Double
        var learningRate: Double
        var momentum: Double? = nil
        init(model: any Model, learningRate: Double) {
            self.model = model
            baseLearningRate = learningRate
            self.learningRate = learningRate
        }
        var parameterNames: [String] { model.parameters.named.map(\.name) }
        func step() throws {
            try Autograd.noGrad {
                for (_, parameter) in model.parameters.named {
                    guard let gradient = parameter.grad else { continue }
                    try parameter.sub_(gradient, alpha: learningRate)
                }
            }
        }
        func zeroGrad() throws {
            for (_, parameter) in model.parameters.named { try parameter.setGrad(nil) }
        }
    }

    @Test func anotherOptimizerTrainsAndACheckpointNamesWhatItCannotStore() throws {
        let model = try model(seed: 1)
        let optimizer = GradientDescent(model: model, learningRate: 0.1)
        let scheduler = LearningRateScheduler(optimizer: optimizer, schedule: .linear(startFactor: 0.5, endFactor: 1, totalIters: 10))
        let state = try AppState(model: model, optimizer: optimizer, scheduler: scheduler)
        #expect(optimizer.learningRate == 0.05, "the scheduler drives the optimizer through the protocol")
        let before = try model.parameters.named[0].tensor.detach().toArray(Float.self)
        try step(state)
        #expect(try model.parameters.named[0].tensor.toArray(Float.self) != before)
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let error = #expect(throws: CheckpointError.self) {
            try CheckpointWriter(checkpointPath: root, experimentID: "exp", globalRank: 0).save(state, progress: progress)
        }
        #expect(error?.description.contains("checkpoints store Adam's state; the optimizer is GradientDescent") == true)
    }

    @Test func roundTripRestoresParametersOptimizerSchedulerAndRandomState() throws {
        let saved = try appState(seed: 1)
        try step(saved)
        try step(saved)
        let root = temporaryFolder()
        let writer = CheckpointWriter(checkpointPath: root, experimentID: "exp", globalRank: 0)
        try writer.save(saved, progress: progress)
        let folder = root + "/eid_exp-seen_steps_2-seen_tokens_32-target_steps_10-target_tokens_160"
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/last_checkpoint_info.json")))
            as? [String: String]
        #expect(info?["checkpoint_folder_path"] == URL(fileURLWithPath: folder).standardizedFileURL.path)
        let expectedRandom = try Tensor.rand([4]).toArray(Float.self)

        let restored = try appState(seed: 2)
        let reader = try CheckpointReader(folder: folder)
        #expect(reader.trainingProgress["num_seen_steps"] == 2 && reader.trainingProgress["num_target_tokens"] == 160)
        try reader.load(into: restored)
        #expect(try Tensor.rand([4]).toArray(Float.self) == expectedRandom, "the CPU random state continues where it was saved")
        for ((name, a), (_, b)) in zip(saved.model.parameters.named, restored.model.parameters.named) {
            #expect(try a.toArray(Float.self) == b.toArray(Float.self), "\(name)")
        }
        for ((name, a), (_, b)) in zip(
            try #require(saved.optimizer as? AdamOptimizer).state, try #require(restored.optimizer as? AdamOptimizer).state)
        {
            #expect(try a.expAvg.toArray(Float.self) == b.expAvg.toArray(Float.self) && a.step.item(Float.self) == 2, "\(name)")
        }
        #expect(restored.scheduler?.stepsTaken == 2 && restored.optimizer.learningRate == saved.optimizer.learningRate)
        // The next step is identical from both states.
        try step(saved)
        try step(restored)
        for ((_, a), (_, b)) in zip(saved.model.parameters.named, restored.model.parameters.named) {
            #expect(try a.toArray(Float.self) == b.toArray(Float.self))
        }
    }

    @Test func anIncompleteCheckpointIsRefusedAndTheInfoFileKeepsThePreviousOne() throws {
        let state = try appState(seed: 3)
        let root = temporaryFolder()
        let writer = CheckpointWriter(checkpointPath: root, experimentID: "exp", globalRank: 0)
        try writer.save(state, progress: progress)
        let before = try String(contentsOfFile: root + "/last_checkpoint_info.json", encoding: .utf8)
        // A process killed after writing its shard but before the metadata leaves a folder without metadata.json.
        var later = progress
        later.numSeenStepsCurrentRun = 4
        later.numSeenTokensCurrentRun = 64
        let torn = writer.folder(for: later)
        try FileManager.default.createDirectory(atPath: torn, withIntermediateDirectories: true)
        try SafeTensorsWriter.write([("model.x", try Tensor.zeros([2]))], to: torn + "/rank_00000.safetensors")
        #expect(
            throws: CheckpointError.unreadable(
                path: torn + "/metadata.json", reason: "missing: the checkpoint was not completed (metadata.json is written last)")
        ) {
            try CheckpointReader(folder: torn)
        }
        #expect(try String(contentsOfFile: root + "/last_checkpoint_info.json", encoding: .utf8) == before)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: writer.folder(for: progress)).sorted() == [
                "metadata.json", "rank_00000.safetensors",
            ])
    }

    /// A save killed before its metadata leaves a folder no reader accepts; the next completed save removes it,
    /// and leaves complete checkpoints and other experiments' folders alone.
    @Test func theNextSaveRemovesUnfinishedFolders() throws {
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let unfinished = root + "/eid_e-seen_steps_1-seen_tokens_16-target_steps_10-target_tokens_160"
        let otherExperiment = root + "/eid_other-seen_steps_1-seen_tokens_16-target_steps_10-target_tokens_160"
        for folder in [unfinished, otherExperiment] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: folder + "/rank_00000.safetensors", contents: Data([1, 2, 3]))
        }
        try CheckpointWriter(checkpointPath: root, experimentID: "e", globalRank: 0).save(try appState(seed: 4), progress: progress)
        #expect(!FileManager.default.fileExists(atPath: unfinished))
        #expect(FileManager.default.fileExists(atPath: otherExperiment))
        #expect(CheckpointReader.isCheckpoint(root + "/eid_e-seen_steps_2-seen_tokens_32-target_steps_10-target_tokens_160"))
    }

    @Test func aCheckpointOfAnotherModelNamesTheMismatch() throws {
        let root = temporaryFolder()
        try CheckpointWriter(checkpointPath: root, experimentID: "e", globalRank: 0).save(try appState(seed: 4), progress: progress)
        let folder = root + "/eid_e-seen_steps_2-seen_tokens_32-target_steps_10-target_tokens_160"
        let norm = GPT2LLMConfig.Norm(kind: .rmsNorm, epsilon: 1e-6, bias: false)
        let wider = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 32, sequenceLength: 8, layerCount: 1, queryHeads: 2, keyValueHeads: 1, embeddingSize: 32, ffnHidden: 32,
                bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, activation: .swiglu, attentionNorm: norm, ffnNorm: norm,
                lmHeadNorm: norm, weightTying: false))
        let state = try AppState(
            model: wider,
            optimizer: AdamOptimizer(
                model: wider, learningRate: 1e-3, betas: (0.9, 0.95), eps: 1e-8,
                weightDecay: 0, excludedGroups: [], decoupledWeightDecay: true), scheduler: nil)
        let error = #expect(throws: CheckpointError.self) { try CheckpointReader(folder: folder).load(into: state) }
        #expect("\(error!)".contains("transformer.wte.weight"))
        #expect(throws: CheckpointError.self) { try CheckpointReader(folder: root + "/missing") }
    }

    /// One flipped byte in a shard's tensor data (a weight that became 2e36 in a report) is refused on opening,
    /// naming the file and the tensor; checkpoints written before checksums existed still load.
    @Test func aCorruptedShardIsRefusedNamingTheTensor() throws {
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let saved = try appState(seed: 4)
        try CheckpointWriter(checkpointPath: root, experimentID: "e", globalRank: 0).save(saved, progress: progress)
        let folder = root + "/eid_e-seen_steps_2-seen_tokens_32-target_steps_10-target_tokens_160"
        let shardPath = folder + "/rank_00000.safetensors"
        let shard = try SafeTensorsFile(path: shardPath)
        #expect(shard.hasChecksums)
        let name = "model.transformer.h.0.attn.q_attn.weight"
        let target = try #require(shard.entries[name])
        let tensors = try shard.entries.keys.sorted().map { (name: $0, tensor: try shard.tensor($0).clone()) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: shardPath)))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        bytes[8 + headerLength + target.range.lowerBound + 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: shardPath))

        let error = #expect(throws: CheckpointError.self) { try CheckpointReader(folder: folder) }
        #expect("\(error!)".contains(shardPath) && "\(error!)".contains("tensor \(name) is corrupted"), "\(error!)")
        #expect(throws: Never.self) { try CheckpointReader(folder: folder, verifyChecksums: false) }

        // The same shard as a build without checksums wrote it: loads (with a warning), and gives the saved values.
        try SafeTensorsWriter.write(tensors, metadata: ["format": CheckpointFormat.name], to: shardPath)
        let restored = try appState(seed: 5)
        try CheckpointReader(folder: folder).load(into: restored)
        let expected = try saved.model.parameters.tensors["transformer.lm_head.weight"]!.toArray(Float.self)
        #expect(try restored.model.parameters.tensors["transformer.lm_head.weight"]!.toArray(Float.self) == expected)
    }

    @Test func strategiesKeepTheNewestAndSaveOnMultiples() throws {
        func at(_ steps: Int) -> TrainingProgress {
            var progress = TrainingProgress(
                numSeenStepsPreviousRun: 0, numSeenTokensPreviousRun: 0, numTargetSteps: 100, numTargetTokens: 100)
            progress.numSeenStepsCurrentRun = steps
            progress.numSeenTokensCurrentRun = steps
            return progress
        }
        let keepTwo = try SaveKMostRecentCheckpoints(k: 2)
        #expect(keepTwo.instruction(for: at(1)).checkpointsToDelete.isEmpty)
        #expect(keepTwo.instruction(for: at(2)).checkpointsToDelete.isEmpty)
        #expect(keepTwo.instruction(for: at(3)).checkpointsToDelete == [at(1)])
        #expect(keepTwo.instruction(for: at(4)).checkpointsToDelete == [at(2)])
        #expect(try SaveKMostRecentCheckpoints(k: 0).instruction(for: at(1)).saveCurrent == false)
        let all = try SaveKMostRecentCheckpoints(k: -1)
        #expect((1...5).allSatisfy { all.instruction(for: at($0)) == CheckpointingInstruction(saveCurrent: true, checkpointsToDelete: []) })
        let everyThree = try SaveEveryKSteps(k: 3)
        #expect((1...9).filter { everyThree.instruction(for: at($0)).saveCurrent } == [3, 6, 9])
        #expect(throws: TrainingError.self) { try SaveKMostRecentCheckpoints(k: -2) }
    }

    @Test func safetensorsWrittenHereReadBack() throws {
        let path = temporaryFolder() + ".safetensors"
        let a = try Tensor.arange(6, dtype: .float32).reshape([2, 3])
        let b = try Tensor([1, 2, 3] as [Int32])
        try SafeTensorsWriter.write([("a", a), ("b", b)], metadata: ["format": "pt"], to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(try file.tensor("a").toArray(Float.self) == [0, 1, 2, 3, 4, 5] && file.entries["a"]?.shape == [2, 3])
        #expect(try file.tensor("b").toArray(Int32.self) == [1, 2, 3])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = bytes.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        #expect(headerLength % 8 == 0)
    }
}

/// A checkpoint Modalities 0.5.0 itself wrote (scripts/make-modalities-checkpoint-golden.py) continues here.
@Suite(.serialized) struct ModalitiesCheckpointTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

    @Test func aModalitiesDCPCheckpointLoadsIntoOurAppState() throws {
        let reference =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.folder + "/modalities_dcp.json")))
            as! [String: Any]
        let norm = GPT2LLMConfig.Norm(kind: .pytorchRMSNorm, epsilon: 1e-5, bias: false)
        let model = try GPT2LLM(
            config: GPT2LLMConfig(
                vocabularySize: 64, sequenceLength: 16, layerCount: 2, queryHeads: 4, keyValueHeads: 2, embeddingSize: 32, ffnHidden: 64,
                bias: false, positionEmbedding: .none, rotaryBaseFrequency: 10_000, attentionImplementation: .manual, activation: .swiglu,
                attentionNorm: norm, ffnNorm: norm, lmHeadNorm: norm, weightTying: false, swigluHiddenMultiple: 16))
        let optimizer = try AdamOptimizer(
            model: model, learningRate: 1e-2, betas: (0.9, 0.95), eps: 1e-8, weightDecay: 0,
            excludedGroups: [], decoupledWeightDecay: true)
        let scheduler = LearningRateScheduler(optimizer: optimizer, schedule: .linear(startFactor: 0.5, endFactor: 1, totalIters: 10))
        let state = try AppState(model: model, optimizer: optimizer, scheduler: scheduler)
        try PyTorchCheckpointLoading.load(dcp: Self.folder + "/modalities_dcp", into: state)

        let ids = (reference["ids"] as! [[Int]]).flatMap { $0 }
        let logits = try Autograd.noGrad { try model(Tensor(ids, shape: [2, 8])).toArray(Float.self) }
        let expected = (reference["logits"] as! [[[Double]]]).flatMap { $0.flatMap { $0 } }
        let difference = zip(logits, expected).map { Swift.abs(Double($0) - $1) }.max()!
        #expect(difference < 1e-5, "max logit difference \(difference)")
        #expect(Swift.abs(optimizer.learningRate - (reference["lr"] as! Double)) < 1e-15)
        #expect(try optimizer.state.allSatisfy { try $0.state.step.item(Float.self) == 2 })
        #expect(state.loadedFrom == Self.folder + "/modalities_dcp")
    }
}
