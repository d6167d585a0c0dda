import DataFormats
import Foundation
import Testing
import Torch

@testable import Interop

/// `torch.save` files read without executing their pickle (goldens from scripts/make-torch-checkpoint-goldens.py).
@Suite struct TorchCheckpointTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/torch").path

    @Test func aStateDictLoadsWithIdenticalTensors() throws {
        let checkpoint = try TorchCheckpoint(path: Self.folder + "/state.pt")
        let reference = try SafeTensorsFile(path: Self.folder + "/state.reference.safetensors")
        #expect(Set(checkpoint.tensors.keys) == Set(reference.entries.keys))
        for name in reference.entries.keys {
            let expected = try reference.tensor(name)
            let actual = try #require(checkpoint.tensors[name])
            #expect(actual.dtype == expected.dtype && actual.shape == expected.shape, "\(name)")
            #expect(try actual.rawBytes() == expected.rawBytes(), "\(name)")
        }
        #expect(checkpoint.values["optimizer.param_groups.0.lr"] == .float(0.001))
        #expect(checkpoint.values["optimizer.param_groups.0.params.0"] == .int(0))
    }

    @Test func writtenFilesReadBackWithTheSameTensorsAndValues() throws {
        let reference = try SafeTensorsFile(path: Self.folder + "/state.reference.safetensors")
        let names = reference.entries.keys.sorted()
        let model: [(String, TorchCheckpointWriter.Value)] = try names.map { ($0, .tensor(try reference.tensor($0))) }
        let optimizer = TorchCheckpointWriter.Value.dict(
            [
                (
                    "state",
                    .dict(
                        [
                            (
                                "transformer.wte.weight",
                                .dict(
                                    [
                                        ("step", .tensor(try Tensor([Float(3)], shape: []))),
                                        ("exp_avg", .tensor(try Tensor.ones([2, 3]))),
                                    ], ordered: false)
                            )
                        ], ordered: false)
                ),
                (
                    "param_groups",
                    .list([
                        .dict(
                            [
                                ("lr", .double(0.001)), ("betas", .tuple([.double(0.9), .double(0.95)])), ("amsgrad", .bool(false)),
                                ("foreach", .none), ("big", .int(1 << 40)), ("negative", .int(-7)),
                                ("params", .list([.string("transformer.wte.weight")])),
                            ], ordered: false)
                    ])
                ),
            ], ordered: false)
        let path = NSTemporaryDirectory() + "written-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TorchCheckpointWriter.write(
            .dict([("model", .dict(model, ordered: true)), ("optimizer", optimizer)], ordered: false), to: path)
        let checkpoint = try TorchCheckpoint(path: path)
        for name in names {
            let actual = try #require(checkpoint.tensors["model." + name])
            let expected = try reference.tensor(name)
            let same = try actual.rawBytes() == expected.rawBytes()
            #expect(actual.dtype == expected.dtype && actual.shape == expected.shape && same, "\(name)")
        }
        #expect(try checkpoint.tensors["optimizer.state.transformer.wte.weight.step"]?.item(Float.self) == 3)
        #expect(checkpoint.tensors["optimizer.state.transformer.wte.weight.exp_avg"]?.shape == [2, 3])
        #expect(checkpoint.values["optimizer.param_groups.0.lr"] == .float(0.001))
        #expect(checkpoint.values["optimizer.param_groups.0.betas.1"] == .float(0.95))
        #expect(checkpoint.values["optimizer.param_groups.0.amsgrad"] == .bool(false))
        #expect(checkpoint.values["optimizer.param_groups.0.big"] == .int(1 << 40))
        #expect(checkpoint.values["optimizer.param_groups.0.negative"] == .int(-7))
        #expect(checkpoint.values["optimizer.param_groups.0.params.0"] == .string("transformer.wte.weight"))
        // Every member's data starts at a multiple of 64 bytes, as torch.save aligns storages.
        let archive = try ZipArchive(path: path)
        #expect(archive.members.values.allSatisfy { $0.dataOffset % 64 == 0 })
        if let keep = ProcessInfo.processInfo.environment["MODALITIES_KEEP_TORCH_FILE"] {
            try? FileManager.default.copyItem(atPath: path, toPath: keep)
        }
    }

    @Test func hostileFilesAreRefusedNotRun() throws {
        let path = NSTemporaryDirectory() + "hostile-\(UUID().uuidString).pt"
        func refusal(_ bytes: [UInt8]) -> String? {
            try? Data(bytes).write(to: URL(fileURLWithPath: path))
            do { _ = try TorchCheckpoint(path: path); return nil } catch { return "\(error)" }
        }
        #expect(refusal([1, 2, 3])?.contains("not a ZIP archive") == true)
        // A pickle that names os.system is refused by name, whatever else it holds.
        let evil: [UInt8] = [0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x58, 2, 0, 0, 0] + Array("ls".utf8) + [0x85, 0x52, 0x2E]
        let error = #expect(throws: Pickle.DecodingError.self) {
            try Pickle.decode(evil, allowedGlobals: TorchCheckpoint.allowedGlobals)
        }
        #expect(error?.description.contains("os.system") == true)
        // A storage record pointing past its bytes.
        let good = try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/state.pt"))
        var truncated = [UInt8](good)
        truncated.removeLast(40)
        #expect(refusal(truncated) != nil)
        // One flipped byte in a member's data: the CRC-32 the archive records no longer matches.
        let archive = try ZipArchive(path: Self.folder + "/state.pt")
        let member = try #require(archive.members.values.filter { $0.name.contains("/data/") }.max { $0.size < $1.size })
        var flipped = [UInt8](good)
        flipped[member.dataOffset + member.size / 2] ^= 0x10
        let corrupted = refusal(flipped)
        #expect(corrupted?.contains("ZIP member \(member.name) is corrupted") == true, "\(corrupted ?? "loaded")")
    }
}

@Suite struct DistributedCheckpointTests {
    @Test func aDCPFolderLoadsWithIdenticalTensorsAndValues() throws {
        let folder = TorchCheckpointTests.folder
        let checkpoint = try DistributedCheckpoint(folder: folder + "/dcp")
        let reference = try SafeTensorsFile(path: folder + "/dcp.reference.safetensors")
        #expect(Set(checkpoint.tensors.keys) == Set(reference.entries.keys))
        for name in reference.entries.keys {
            let actual = try #require(checkpoint.tensors[name])
            #expect(try actual.rawBytes() == reference.tensor(name).rawBytes() && actual.dtype == reference.entries[name]?.dtype, "\(name)")
        }
        #expect(checkpoint.values["app.lr_scheduler.last_epoch"] == .int(3))
        #expect(checkpoint.values["app.optimizer.param_groups.0.lr"] == .float(0.001))
    }
}
