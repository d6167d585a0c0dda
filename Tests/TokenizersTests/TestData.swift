import Foundation
import TestSupport
import Testing

@testable import Tokenizers

let testData = URL(fileURLWithPath: TestData.folder)

func dataPath(_ relative: String) -> String { testData.appendingPathComponent(relative).path }

/// The documents the golden files cover (see scripts/make-tokenizer-goldens.py).
enum GoldenCorpus: String, CaseIterable {
    case shakespeare, gsm8k

    var documents: [String] {
        get throws {
            switch self {
            case .shakespeare:
                let text = try String(contentsOfFile: dataPath("corpus/tinyshakespeare.txt"), encoding: .utf8)
                return text.components(separatedBy: "\n\n")
            case .gsm8k:
                let text = try String(contentsOfFile: dataPath("jsonl/gsm8k_train.jsonl"), encoding: .utf8)
                return try text.split(separator: "\n").flatMap { line -> [String] in
                    let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                    return [row["question"] as! String, row["answer"] as! String]
                }
            }
        }
    }
}

/// Compares a tokenizer with the golden file `name.corpus.txt`: total count, then each block of 16 documents.
func expectMatchesGolden(
    _ tokenizer: any Tokenizer, golden name: String, corpus: GoldenCorpus,
    roundTrip: Bool = true, addedPrefix: Int = 0, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let goldenURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/\(name).\(corpus.rawValue).txt")
    let lines = try String(contentsOf: goldenURL, encoding: .utf8).split(separator: "\n")
    let documents = try corpus.documents
    let encoded = tokenizer.encodeBatch(documents)
    #expect(encoded.reduce(0) { $0 + $1.count } == Int(lines[0]), "total tokens of \(corpus)", sourceLocation: sourceLocation)
    var mismatches = 0
    for (block, start) in stride(from: 0, to: documents.count, by: 16).enumerated() {
        let ids = encoded[start..<min(start + 16, documents.count)].flatMap { $0 }
        let expected = lines[block + 1]
        let actual = "\(ids.count) \(String(fnv1a(ids), radix: 16).leftPadded(to: 16))"
        if actual != expected {
            mismatches += 1
            if mismatches <= 3 {
                Issue.record(
                    "block \(block) (documents \(start)..<\(start + 16)) gives \(actual), expected \(expected); first document: \(documents[start].prefix(80).debugDescription)",
                    sourceLocation: sourceLocation)
            }
        }
    }
    #expect(mismatches == 0, "\(mismatches) blocks differ", sourceLocation: sourceLocation)
    if roundTrip {
        let failures = zip(documents, encoded).filter { tokenizer.decode(Array($1.dropFirst(addedPrefix))) != $0 }
        #expect(
            failures.isEmpty,
            "\(failures.count) documents do not decode back; first: \(failures.first?.0.prefix(80).debugDescription ?? "")",
            sourceLocation: sourceLocation)
    }
}

func fnv1a(_ ids: [Int]) -> UInt64 {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    for id in ids {
        let bits = UInt32(bitPattern: Int32(truncatingIfNeeded: id))
        for shift in stride(from: 0, to: 32, by: 8) {
            value = (value ^ UInt64((bits >> UInt32(shift)) & 0xFF)) &* 0x100_0000_01B3
        }
    }
    return value
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
