import Foundation

/// The parts of a SentencePiece `.model` file (ModelProto) that encoding needs.
struct SentencePieceModel: Sendable {
    enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    enum Algorithm: Int, Sendable {
        case unigram = 1, bpe = 2, word = 3, character = 4
    }

    struct Piece: Sendable {
        var text: String
        var score: Float
        var type: PieceType
    }

    var pieces: [Piece] = []
    var algorithm: Algorithm = .unigram
    var byteFallback = false
    var treatWhitespaceAsSuffix = false
    var unknownID = 0
    var bosID = 1
    var eosID = 2
    var padID = -1
    var normalizerName = ""
    var precompiledCharsMap: [UInt8] = []
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    /// Parses a `.model` file.
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadable(path: path, reason: "no such file or not readable")
        }
        do {
            try parse([UInt8](data)[...])
        } catch let error as ProtobufReader.Malformed {
            throw TokenizerError.malformed(path: path, reason: "not a SentencePiece model: \(error.reason) at byte \(error.offset)")
        }
        guard !pieces.isEmpty else { throw TokenizerError.malformed(path: path, reason: "the model has no pieces") }
        guard algorithm == .bpe || algorithm == .unigram else {
            throw TokenizerError.unsupported(path: path, feature: "SentencePiece model type \(algorithm) (BPE and unigram are supported)")
        }
        guard !treatWhitespaceAsSuffix else {
            throw TokenizerError.unsupported(path: path, feature: "treat_whitespace_as_suffix")
        }
    }

    private mutating func parse(_ bytes: ArraySlice<UInt8>) throws {
        var reader = ProtobufReader(bytes)
        while !reader.atEnd {
            let (field, value) = try reader.next()
            guard case .bytes(let body) = value else { continue }
            switch field {
            case 1: pieces.append(try Self.piece(body))
            case 2: try trainerSpec(body)
            case 3: try normalizerSpec(body)
            default: continue
            }
        }
    }

    private static func piece(_ bytes: ArraySlice<UInt8>) throws -> Piece {
        var reader = ProtobufReader(bytes)
        var piece = Piece(text: "", score: 0, type: .normal)
        while !reader.atEnd {
            switch try reader.next() {
            case (1, .bytes(let text)): piece.text = String(decoding: text, as: UTF8.self)
            case (2, .fixed32(let bits)):
                // Scores rank merges; NaN has no rank (found by `make fuzz`).
                piece.score = Float(bitPattern: bits)
                guard !piece.score.isNaN else { throw ProtobufReader.Malformed(offset: 0, reason: "a piece's score is NaN") }
            case (3, .varint(let type)): piece.type = PieceType(rawValue: Int(truncatingIfNeeded: type)) ?? .normal
            default: continue
            }
        }
        return piece
    }

    private mutating func trainerSpec(_ bytes: ArraySlice<UInt8>) throws {
        var reader = ProtobufReader(bytes)
        while !reader.atEnd {
            switch try reader.next() {
            case (3, .varint(let type)): algorithm = Algorithm(rawValue: Int(truncatingIfNeeded: type)) ?? .unigram
            case (24, .varint(let flag)): treatWhitespaceAsSuffix = flag != 0
            case (35, .varint(let flag)): byteFallback = flag != 0
            case (40, .varint(let id)): unknownID = Int(Int32(truncatingIfNeeded: id))
            case (41, .varint(let id)): bosID = Int(Int32(truncatingIfNeeded: id))
            case (42, .varint(let id)): eosID = Int(Int32(truncatingIfNeeded: id))
            case (43, .varint(let id)): padID = Int(Int32(truncatingIfNeeded: id))
            default: continue
            }
        }
    }

    private mutating func normalizerSpec(_ bytes: ArraySlice<UInt8>) throws {
        var reader = ProtobufReader(bytes)
        while !reader.atEnd {
            switch try reader.next() {
            case (1, .bytes(let name)): normalizerName = String(decoding: name, as: UTF8.self)
            case (2, .bytes(let map)): precompiledCharsMap = Array(map)
            case (3, .varint(let flag)): addDummyPrefix = flag != 0
            case (4, .varint(let flag)): removeExtraWhitespaces = flag != 0
            case (5, .varint(let flag)): escapeWhitespaces = flag != 0
            default: continue
            }
        }
    }
}
