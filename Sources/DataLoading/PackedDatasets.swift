import DataFormats

/// Fixed-length blocks over the whole token stream of a `.pbin` (`dataset/packed_mem_map_dataset_continuous`).
///
/// With `reuseLastTarget` (the default) consecutive blocks of `sequenceLength + 1` tokens overlap by one token,
/// so every token is a target once: `count = (T − block) / (block − 1) + 1`. Without it (instruction tuning)
/// blocks are `sequenceLength` tokens that do not overlap, `count = T / block`, so documents padded to the
/// sequence length each make exactly one sample (Modalities main's dataset factory; a block of `sequenceLength + 1`
/// would start one token later in every document).
public final class PackedContinuousDataset: Dataset {
    public let file: PackedDataFile
    public let sampleKey: String
    public let blockSize: Int
    public let reuseLastTarget: Bool
    public let count: Int

    public init(path: String, sequenceLength: Int, sampleKey: String, reuseLastTarget: Bool = true) throws {
        guard sequenceLength > 1 else {
            throw DatasetError.invalidArgument("sequence_length must be greater than 1, got \(sequenceLength)")
        }
        file = try PackedDataFile(path: path)
        self.sampleKey = sampleKey
        blockSize = reuseLastTarget ? sequenceLength + 1 : sequenceLength
        self.reuseLastTarget = reuseLastTarget
        let tokens = file.tokenCount
        guard tokens >= blockSize else { throw DatasetError.tooFewTokens(path: path, tokens: tokens, blockSize: blockSize) }
        count = reuseLastTarget ? (tokens - blockSize) / (blockSize - 1) + 1 : tokens / blockSize
    }

    public func sample(at index: Int) throws -> Sample {
        guard (0..<count).contains(index) else { throw DatasetError.indexOutOfRange(index: index, count: count) }
        let start = index * (reuseLastTarget ? blockSize - 1 : blockSize)
        return Sample([sampleKey: file.tokens(in: start..<(start + blockSize))])
    }
}

/// Blocks that start at document boundaries (`dataset/packed_mem_map_dataset_megatron`): documents are
/// gathered until a block is full; a block never starts inside a document unless that document alone is
/// longer than a block.
public final class PackedMegatronDataset: Dataset {
    public let file: PackedDataFile
    public let sampleKey: String
    public let blockSize: Int
    /// Start of each block, in tokens.
    private let starts: [Int]

    public var count: Int { starts.count }

    public init(path: String, sequenceLength: Int, sampleKey: String) throws {
        guard sequenceLength > 0 else { throw DatasetError.invalidArgument("sequence_length must be positive, got \(sequenceLength)") }
        let file = try PackedDataFile(path: path)
        let blockSize = sequenceLength
        self.file = file
        self.sampleKey = sampleKey
        self.blockSize = blockSize
        var starts: [Int] = []
        var blockStart = 0
        var gathered = 0
        for document in file.documents {
            let length = document.length / file.tokenSize
            if gathered + length < blockSize {
                gathered += length
            } else if gathered + length == blockSize {
                starts.append(blockStart)
                blockStart += blockSize
                gathered = 0
            } else {
                starts.append(blockStart)
                if length > blockSize {
                    blockStart += blockSize
                    gathered = 0
                } else {
                    blockStart += gathered
                    gathered = length
                }
            }
        }
        let tokenCount = file.tokenCount
        self.starts = starts.filter { $0 + blockSize <= tokenCount }
    }

    public func sample(at index: Int) throws -> Sample {
        guard (0..<count).contains(index) else { throw DatasetError.indexOutOfRange(index: index, count: count) }
        return Sample([sampleKey: file.tokens(in: starts[index]..<(starts[index] + blockSize))])
    }
}
