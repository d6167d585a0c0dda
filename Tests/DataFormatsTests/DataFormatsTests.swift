import Foundation
import TestSupport
import Testing
import Tokenizers

@testable import DataFormats

let modalitiesData = URL(fileURLWithPath: TestData.path("modalities"))

func modalitiesFile(_ name: String) -> String { modalitiesData.appendingPathComponent(name).path }

func temporaryFile(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
}

@Suite struct PickleTests {
    @Test func readsModalitiesIndexPickles() throws {
        let pairs = try RawIndex.read(modalitiesFile("lorem_ipsum.idx"))
        #expect(pairs.count == 12)
        #expect(pairs[0] == (0, 4454) && pairs[1] == (4455, 2677))
    }

    @Test func writtenPicklesReadBack() throws {
        let pairs = [(0, 5), (5, 300), (305, 70_000), (70_305, 5_000_000_000), (-1, 2)]
        let decoded = try #require(try Pickle.decode(Pickle.encodePairs(pairs)).integerPairs)
        #expect(decoded.map { [$0.0, $0.1] } == pairs.map { [$0.0, $0.1] })
        let many = (0..<2500).map { ($0, $0 * 3) }
        #expect(try Pickle.decode(Pickle.encodePairs(many)).integerPairs?.count == 2500)
    }

    @Test func codeExecutingOpcodesAreRefused() {
        // cos\nsystem\n(S'echo pwned'\ntR.  — the classic os.system pickle
        let hostile: [UInt8] = Array("cos\nsystem\n(S'echo hi'\ntR.".utf8)
        #expect(throws: Pickle.DecodingError.disallowedOpcode(name: "GLOBAL", offset: 0)) { try Pickle.decode(hostile) }
        let reduce: [UInt8] = [0x80, 4, 0x5D, 0x52, 0x2E]
        #expect(throws: Pickle.DecodingError.disallowedOpcode(name: "REDUCE", offset: 3)) { try Pickle.decode(reduce) }
        #expect(throws: Pickle.DecodingError.truncated(offset: 3)) { try Pickle.decode([0x80, 4, 0x5D]) }
    }
}

@Suite struct RawIndexTests {
    @Test func indexOfLoremIpsumEqualsModalities() throws {
        let (entries, invalid) = try RawIndex.build(jsonl: modalitiesFile("lorem_ipsum.jsonl"))
        let expected = try RawIndex.read(modalitiesFile("lorem_ipsum.idx"))
        #expect(invalid.isEmpty)
        #expect(entries.map { [$0.0, $0.1] } == expected.map { [$0.0, $0.1] })
        let long = try RawIndex.build(jsonl: modalitiesFile("lorem_ipsum_long.jsonl")).entries
        #expect(long.map { [$0.0, $0.1] } == (try RawIndex.read(modalitiesFile("lorem_ipsum_long.idx"))).map { [$0.0, $0.1] })
    }

    @Test func invalidLinesAreReportedByNumber() throws {
        let path = temporaryFile("mixed.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = Array("{\"text\": \"a\"}\nnot json\n{\"text\": \"b\"}\n".utf8)
        bytes += [0xFF, 0xFE, 0x0A]
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (entries, invalid) = try RawIndex.build(jsonl: path)
        #expect(entries.count == 2)
        #expect(
            invalid == [RawIndex.InvalidLine(line: 2, reason: "not a JSON object"), RawIndex.InvalidLine(line: 4, reason: "invalid UTF-8")])
    }
}

@Suite struct PackedDataTests {
    static let gpt2 = Result { try HuggingFaceTokenizerLoader.load(modalitiesFile("tokenizer/hf_gpt2")) }

    @Test func readsModalitiesPackedFiles() throws {
        let long = try PackedDataFile(path: modalitiesFile("lorem_ipsum_long.pbin"))
        #expect(long.tokenSize == 2)
        #expect(long.tokenCount == 332_875)
        #expect(long.documents.count == 500)
        let short = try PackedDataFile(path: modalitiesFile("lorem_ipsum.pbin"))
        #expect(short.tokenCount == 7_989)
        #expect(short.documents.count == 12)
    }

    @Test func packingLoremIpsumReproducesModalitiesTokens() throws {
        let reference = try PackedDataFile(path: modalitiesFile("lorem_ipsum.pbin"))
        let tokenizer = try Self.gpt2.get()
        let output = temporaryFile("lorem_ipsum.pbin")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let packer = Packer(tokenizer: tokenizer, endOfDocumentID: 50256, jsonPath: JSONPath(".text")!, workers: 2, batchSize: 5)
        let report = try packer.pack(source: modalitiesFile("lorem_ipsum.jsonl"), destination: output)
        #expect(report.documents == 12 && report.tokens == 7_989)
        let packed = try PackedDataFile(path: output)
        #expect(packed.tokens(in: 0..<packed.tokenCount) == reference.tokens(in: 0..<reference.tokenCount))
        #expect(packed.documents.map { [$0.offset, $0.length] } == reference.documents.map { [$0.offset, $0.length] })
    }

    @Test func emptyAndFaultyDocumentsAreCountedAndNothingElseIsLost() throws {
        let source = temporaryFile("faulty.jsonl")
        let output = temporaryFile("faulty.pbin")
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: output)
        }
        try Data("{\"text\": \"one\"}\n{\"text\": \"\"}\n{\"body\": \"x\"}\nbroken\n{\"text\": \"two<|endoftext|>\"}\n".utf8)
            .write(to: URL(fileURLWithPath: source))
        let packer = Packer(tokenizer: try Self.gpt2.get(), endOfDocumentID: 50256, jsonPath: JSONPath(".text")!, workers: 2)
        let report = try packer.pack(source: source, destination: output)
        #expect(report.documents == 2)
        #expect(report.emptyLines == [2])
        #expect(report.faultyLines.map(\.line) == [3, 4])
        let packed = try PackedDataFile(path: output)
        #expect(packed.document(0) == [505, 50256])
        #expect(packed.document(1) == [11545, 50256])  // already ends with EOD: not doubled

        // Through an index that left the invalid JSON lines out (as create_raw_index does), problems are still
        // reported at the file's lines, not at their entries' numbers.
        try Data("broken\n{\"text\": \"one\"}\nnot json\n{\"text\": \"\"}\n{\"body\": \"x\"}\n{\"text\": \"two\"}\n".utf8)
            .write(to: URL(fileURLWithPath: source))
        let (entries, invalid) = try RawIndex.build(jsonl: source)
        #expect(entries.count == 4 && invalid.count == 2)
        let indexed = try packer.pack(source: source, index: entries, destination: output)
        #expect(indexed.documents == 2)
        #expect(indexed.emptyLines == [4])
        #expect(indexed.faultyLines.map(\.line) == [5])
    }

    @Test func hostilePackedFilesAreRefused() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: modalitiesFile("lorem_ipsum.pbin")))
        func refusal(_ bytes: Data) -> String? {
            let path = temporaryFile("hostile.pbin")
            defer { try? FileManager.default.removeItem(atPath: path) }
            try? bytes.write(to: URL(fileURLWithPath: path))
            do {
                _ = try PackedDataFile(path: path)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(original.prefix(8))?.contains("fewer than the 12-byte header") == true)
        #expect(refusal(original.prefix(2000))?.contains("runs past the end") == true)
        let dataEnd = 12 + 15_978
        var tokenSizeThree = original
        tokenSizeThree[8] = 3
        #expect(refusal(tokenSizeThree)?.contains("token size 3") == true)
        var longLength = original
        longLength[0] = 0xFF
        longLength[1] = 0xFF
        #expect(refusal(longLength)?.contains("runs past the end") == true)
        // Lengths at and near the top of 64 bits once trapped (Int conversion, header + length overflow).
        for length in [UInt64(Int64.max), UInt64(1) << 63, UInt64.max - 1] {
            var forged = original
            withUnsafeBytes(of: length.littleEndian) { forged.replaceSubrange(0..<8, with: $0) }
            #expect(refusal(forged)?.contains("data length \(length) runs past the end") == true, "\(length)")
        }
        // A document whose offset + length would overflow.
        var overflowing = original.prefix(dataEnd)
        overflowing.append(contentsOf: Pickle.encodePairs([(0, 100), (8, Int.max - 4)]))
        #expect(refusal(overflowing)?.contains("document 1") == true)
        #expect(refusal(original.prefix(dataEnd))?.contains("no document index") == true)
        var outside = original.prefix(dataEnd)
        outside.append(contentsOf: Pickle.encodePairs([(0, 100), (15_900, 200)]))
        #expect(refusal(outside)?.contains("document 1") == true)
        var evil = original.prefix(dataEnd)
        evil.append(contentsOf: Array("cos\nsystem\n(S'x'\ntR.".utf8))
        #expect(refusal(evil)?.contains("GLOBAL") == true)
    }
}

@Suite struct PackedDataOperationTests {
    let short = modalitiesFile("lorem_ipsum.pbin")
    let long = modalitiesFile("lorem_ipsum_long.pbin")

    @Test func mergeKeepsEveryDocumentWithCorrectOffsets() throws {
        let output = temporaryFile("merged.pbin")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (documents, tokens) = try PackedDataOperations.merge([short, long], into: output)
        #expect(documents == 512 && tokens == 7_989 + 332_875)
        let merged = try PackedDataFile(path: output)
        let first = try PackedDataFile(path: short)
        let second = try PackedDataFile(path: long)
        #expect(merged.document(12) == second.document(0))
        #expect(merged.document(511) == second.document(499))
        #expect(merged.documents[12].offset == first.dataLength)
    }

    @Test func shufflesAreDeterministicPermutations() throws {
        let a = temporaryFile("a.pbin")
        let b = temporaryFile("b.pbin")
        defer {
            try? FileManager.default.removeItem(atPath: a)
            try? FileManager.default.removeItem(atPath: b)
        }
        #expect(try PackedDataOperations.shuffle(long, into: a, seed: 3) == 500)
        _ = try PackedDataOperations.shuffle(long, into: b, seed: 3)
        let source = try PackedDataFile(path: long)
        let first = try PackedDataFile(path: a)
        let second = try PackedDataFile(path: b)
        #expect((0..<500).map(first.document) == (0..<500).map(second.document))
        #expect((0..<500).map(first.document) != (0..<500).map(source.document))
        #expect(Set((0..<500).map { first.document($0).description }) == Set((0..<500).map { source.document($0).description }))
    }

    @Test func chunksPartitionTheDocuments() throws {
        var seen: [String] = []
        for chunk in 0..<3 {
            let output = temporaryFile("chunk\(chunk).pbin")
            defer { try? FileManager.default.removeItem(atPath: output) }
            _ = try PackedDataOperations.shuffledChunk(of: [short, long], chunkID: chunk, chunkCount: 3, into: output, seed: 1)
            let file = try PackedDataFile(path: output)
            seen += file.documents.indices.map { file.document($0).description }
        }
        let all = try [short, long].map(PackedDataFile.init(path:)).flatMap { file in
            file.documents.indices.map { file.document($0).description }
        }
        #expect(seen.sorted() == all.sorted())
        #expect(PackedDataOperations.chunkRange(count: 10, chunkID: 2, chunkCount: 3) == 7..<10)
        #expect(throws: DataFormatError.self) {
            try PackedDataOperations.shuffledChunk(of: [short], chunkID: 3, chunkCount: 3, into: "/tmp/x.pbin", seed: 1)
        }
    }

    @Test func jsonlShuffleKeepsEveryLine() throws {
        let output = temporaryFile("shuffled.jsonl")
        defer { try? FileManager.default.removeItem(atPath: output) }
        #expect(try PackedDataOperations.shuffleJSONL(modalitiesFile("lorem_ipsum.jsonl"), into: output, seed: 5) == 12)
        let original = try String(contentsOfFile: modalitiesFile("lorem_ipsum.jsonl"), encoding: .utf8).split(separator: "\n")
        let shuffled = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(original.sorted() == shuffled.sorted())
        #expect(original != shuffled)
    }

    @Test func jsonPathsFollowJqKeyAccess() {
        #expect(JSONPath(".text")?.keys == ["text"])
        #expect(JSONPath(".meta.body")?.keys == ["meta", "body"])
        #expect(JSONPath(".[\"raw content\"]")?.keys == ["raw content"])
        #expect(JSONPath(".text | ascii") == nil)
        #expect(JSONPath("text") == nil)
    }
}
