import Foundation
import Models
import TestSupport
import Testing
import Torch

@testable import Interop

let sharedData = TestData.folder

@Suite struct HuggingFaceImportTests {
    @Test func trainedLlamaGeneratesWhatTransformersGenerates() throws {
        let model = try HuggingFaceModelImport.load(folder: sharedData + "/models/aidreams260K/hf")
        #expect(model.config.swigluHidden == 172 && model.config.weightTying)
        // transformers 4.57 LlamaForCausalLM.generate(do_sample=False, max_new_tokens=20) on the same folder.
        let expected = [264, 312, 266, 430, 430, 445, 362, 312, 429, 452, 437, 361, 448, 429, 465, 438, 340, 431, 338, 353]
        let generated = try TextGenerator(model: model).generate(prompt: [1, 403, 407, 261], maxNewTokens: 20)
        #expect(generated == expected)
    }

    @Test func tensorsViewTheMappedFileCopyOnWrite() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).safetensors").path
        try SafeTensorsWriter.write([("w", try Tensor([1, 2, 3, 4] as [Float]))], to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        var tensor: Tensor? = try SafeTensorsFile(path: path).tensor("w")  // the file object is gone; the mapping lives on
        try tensor!.mul_(10)
        #expect(try tensor!.toArray(Float.self) == [10, 20, 30, 40])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "writes stay in private pages")
        tensor = nil
        #expect(try SafeTensorsFile(path: path).tensor("w").toArray(Float.self) == [1, 2, 3, 4])
    }

    @Test func brokenSafetensorsAreRefusedWithTheReason() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func refusal(_ bytes: [UInt8]) -> String? {
            try? Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try SafeTensorsFile(path: path)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal([1, 2, 3])?.contains("shorter than the 8-byte header") == true)
        #expect(refusal([255, 0, 0, 0, 0, 0, 0, 0, 123])?.contains("runs past the end") == true)
        let header = Array(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}"#.utf8)
        var bad = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
        bad += [UInt8](repeating: 0, count: 8)
        #expect(refusal(bad)?.contains("do not fit shape [4]") == true)
        let good = Array(#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#.utf8)
        var bytes = withUnsafeBytes(of: UInt64(good.count).littleEndian, Array.init) + good
        bytes +=
            withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian, Array.init)
            + withUnsafeBytes(of: Float(-2).bitPattern.littleEndian, Array.init)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try SafeTensorsFile(path: path).tensor("w").toArray(Float.self) == [1.5, -2])
        #expect(throws: InteropError.self) { try SafeTensorsFile(path: path).tensor("missing") }

        func file(_ header: String, dataBytes: Int) -> [UInt8] {
            let text = Array(header.utf8)
            return withUnsafeBytes(of: UInt64(text.count).littleEndian, Array.init) + text + [UInt8](repeating: 0, count: dataBytes)
        }
        #expect(
            refusal(
                file(
                    #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#,
                    dataBytes: 12))?.contains("overlap") == true)
        #expect(
            refusal(
                file(
                    #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
                    dataBytes: 8))?.contains("appears twice") == true)
        #expect(
            refusal(file(#"{"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}}"#, dataBytes: 4))?.contains("unsupported dtype Q4")
                == true)
        #expect(
            refusal(file(#"{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 16]}}"#, dataBytes: 16))?.contains(
                "do not fit") == true)
        #expect(
            refusal(file(#"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, dataBytes: 4))?.contains("negative") == true)
        #expect(refusal(withUnsafeBytes(of: UInt64(1) << 40, Array.init) + [0])?.contains("exceeds") == true)
        #expect(refusal(withUnsafeBytes(of: UInt64(2).littleEndian, Array.init) + [0xff, 0xfe])?.contains("not UTF-8") == true)
        #expect(refusal(file("[1, 2]", dataBytes: 0))?.contains("not a JSON object") == true)
    }
}
