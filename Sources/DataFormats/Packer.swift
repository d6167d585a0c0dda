import Foundation
import Tokenizers

/// Tokenizes a JSONL file and packs it into a `.pbin` (Modalities' `pack_encoded_data`), in parallel with the
/// output in input order and memory bounded by the batch size whatever the file size.
///
/// Each document is followed by the end-of-document token unless it already ends with it. Empty and faulty
/// documents are counted and reported by line and never affect the documents after them.
public struct Packer {
    public var tokenizer: any Tokenizer
    public var endOfDocumentID: Int
    public var jsonPath: JSONPath
    public var workers: Int
    /// Documents tokenized per parallel batch.
    public var batchSize: Int

    public init(tokenizer: any Tokenizer, endOfDocumentID: Int, jsonPath: JSONPath, workers: Int, batchSize: Int = 1024) {
        self.tokenizer = tokenizer
        self.endOfDocumentID = endOfDocumentID
        self.jsonPath = jsonPath
        self.workers = workers
        self.batchSize = batchSize
    }

    /// What packing did.
    public struct Report: Sendable {
        public var documents = 0
        public var tokens = 0
        public var emptyLines: [Int] = []
        public var faultyLines: [(line: Int, reason: String)] = []
        public var bytesRead = 0
    }

    /// Packs `source` (its lines, or the entries of `index` when given) into `destination`.
    ///
    /// - Parameter progress: called after each batch with the report so far.
    public func pack(
        source: String, index: [(Int, Int)]? = nil, destination: String,
        progress: (Report) -> Void = { _ in }
    ) throws -> Report {
        var reader = try JSONLBatchReader(path: source, index: index)
        let tokenSize = PackedDataFile.tokenSize(forVocabularySize: tokenizer.vocabularySize)
        let writer = try PackedDataWriter(path: destination, tokenSize: tokenSize)
        var report = Report()
        // Entry numbers of an index's lines that need the file's line number, by offset.
        var emptyOffsets: [Int] = []
        var faultyOffsets: [Int] = []
        while true {
            let batch = try reader.next(batchSize)
            if batch.isEmpty { break }
            let results = encode(batch.map(\.bytes))
            for (line, result) in zip(batch, results) {
                report.bytesRead += line.bytes.count + 1
                switch result {
                case .success(let tokens) where tokens.isEmpty:
                    report.emptyLines.append(line.number)
                    if let offset = line.offset { emptyOffsets.append(offset) }
                case .success(var tokens):
                    if tokens.last != endOfDocumentID { tokens.append(endOfDocumentID) }
                    try writer.append(tokens)
                    report.documents += 1
                    report.tokens += tokens.count
                case .failure(let problem):
                    report.faultyLines.append((line.number, problem.description))
                    if let offset = line.offset { faultyOffsets.append(offset) }
                }
            }
            progress(report)
        }
        if reader.isIndexed {
            // An index may skip lines (create_raw_index leaves invalid JSON out): report the file's line numbers.
            let numbers = try reader.lineNumbers(startingAt: emptyOffsets + faultyOffsets)
            report.emptyLines = zip(report.emptyLines, emptyOffsets).map { numbers[$1] ?? $0 }
            report.faultyLines = zip(report.faultyLines, faultyOffsets).map { (numbers[$1] ?? $0.line, $0.reason) }
        }
        report.bytesRead = Swift.min(report.bytesRead, reader.totalBytes)
        try writer.finish()
        return report
    }

    private func encode(_ records: [Data]) -> [Result<[Int], JSONPath.RecordProblem>] {
        let tokenizer = self.tokenizer
        let path = jsonPath
        return ParallelMap.map(records, threads: workers) { record in
            path.text(in: record).map { $0.isEmpty ? [] : tokenizer.encode($0) }
        }
    }
}
