import Foundation

/// Reads Hugging Face tokenizers: a folder (or file) with `tokenizer.json`, or GPT-2's `vocab.json` +
/// `merges.txt` with `tokenizer_config.json`.
public enum HuggingFaceTokenizerLoader {
    /// Loads from a folder holding `tokenizer.json` (preferred) or `vocab.json` + `merges.txt`, or from the
    /// path of a `tokenizer.json` itself.
    ///
    /// - Parameter specialTokens: vocabulary tokens to treat as special as well (matched whole in text), as
    ///   Modalities' `special_tokens` does; a token missing from the vocabulary is an error, since adding one
    ///   would need a larger embedding.
    public static func load(_ path: String, specialTokens: [String] = []) throws -> any Tokenizer {
        let tokenizer = try load(path)
        guard !specialTokens.isEmpty else { return tokenizer }
        // A token the vocabulary lacks gets the next free id, as Hugging Face's add_special_tokens appends it
        // (`pad_token: "[PAD]"` on GPT-2's vocabulary becomes id 50257).
        var extra: [SpecialTokens.Token] = []
        var nextID = tokenizer.vocabularySize
        for token in specialTokens {
            guard !token.isEmpty else { throw TokenizerError.unsupported(path: path, feature: "an empty special token") }
            let id = tokenizer.tokenID(token) ?? nextID
            if id == nextID { nextID += 1 }
            extra.append(SpecialTokens.Token(content: Array(token.utf8), id: id))
        }
        guard
            tokenizer is ByteLevelBPETokenizer || tokenizer is MetaspaceBPETokenizer
                || extra.allSatisfy({ $0.id < tokenizer.vocabularySize })
        else {
            throw TokenizerError.unsupported(
                path: path, feature: "adding special tokens that are not in the vocabulary to this kind of tokenizer")
        }
        switch tokenizer {
        case var byteLevel as ByteLevelBPETokenizer:
            byteLevel.specials = byteLevel.specials.adding(extra)
            return byteLevel
        case var metaspace as MetaspaceBPETokenizer:
            metaspace.specials = metaspace.specials.adding(extra)
            return metaspace
        default:
            return tokenizer
        }
    }

    private static func load(_ path: String) throws -> any Tokenizer {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            if looksLikeHubID(path) {
                throw TokenizerError.unreadable(
                    path: path,
                    reason: "no such file or folder; this looks like a Hugging Face hub id, and tokenizers are read from disk, never downloaded: "
                        + "fetch it once (huggingface-cli download \(path) --local-dir <folder>) and set pretrained_model_name_or_path to that folder")
            }
            throw TokenizerError.unreadable(path: path, reason: "no such file or folder")
        }
        if !isFolder.boolValue { return try loadTokenizerJSON(path) }
        let folder = URL(fileURLWithPath: path)
        let json = folder.appendingPathComponent("tokenizer.json").path
        if FileManager.default.fileExists(atPath: json) { return try loadTokenizerJSON(json) }
        let vocab = folder.appendingPathComponent("vocab.json").path
        let merges = folder.appendingPathComponent("merges.txt").path
        guard FileManager.default.fileExists(atPath: vocab), FileManager.default.fileExists(atPath: merges) else {
            throw TokenizerError.unreadable(path: path, reason: "the folder has neither tokenizer.json nor vocab.json + merges.txt")
        }
        return try loadVocabAndMerges(
            vocab: vocab, merges: merges,
            config: folder.appendingPathComponent("tokenizer_config.json").path)
    }

    // MARK: tokenizer.json

    static func loadTokenizerJSON(_ path: String) throws -> any Tokenizer {
        let root = try readJSON(path)
        guard let model = root["model"] as? [String: Any] else { throw TokenizerError.malformed(path: path, reason: "no 'model'") }
        // Hugging Face's tokenizers reads a model without "type" by its fields: `vocab` and `merges` make it BPE (the
        // GPT-2 tokenizer.json Modalities ships is written that way).
        let inferredBPE = model["type"] == nil && model["vocab"] is [String: Any] && model["merges"] != nil
        guard (model["type"] as? String) == "BPE" || inferredBPE else {
            throw TokenizerError.unsupported(path: path, feature: "model type \(model["type"] ?? "none") (BPE is supported)")
        }
        guard let vocab = model["vocab"] as? [String: Int] else {
            throw TokenizerError.malformed(path: path, reason: "model.vocab is not a mapping of strings to ids")
        }
        let merges = try mergePairs(model["merges"], path: path)
        let added = try addedTokens(root["added_tokens"], path: path)
        if isSentencePieceStyle(root, model: model) {
            return try metaspace(root, model: model, vocab: vocab, merges: merges, added: added, path: path)
        }
        if !(root["normalizer"] is NSNull || root["normalizer"] == nil) {
            throw TokenizerError.unsupported(path: path, feature: "normalizer \(describe(root["normalizer"])) for a byte-level model")
        }
        let (pattern, addPrefixSpace) = try byteLevelPreTokenizer(root["pre_tokenizer"], path: path)
        let (prefix, suffix) = try template(root["post_processor"], vocab: vocab, added: added, path: path)
        return try byteLevel(
            vocab: vocab, merges: merges, added: added, pattern: pattern, addPrefixSpace: addPrefixSpace,
            prefixIDs: prefix, suffixIDs: suffix, path: path)
    }

    /// Llama 2 / Mistral files: byte fallback, a Metaspace pre-tokenizer, or a `▁`-writing normalizer.
    private static func isSentencePieceStyle(_ root: [String: Any], model: [String: Any]) -> Bool {
        if model["byte_fallback"] as? Bool == true { return true }
        if describe(root["pre_tokenizer"]) == "Metaspace" { return true }
        let normalizer = root["normalizer"] as? [String: Any]
        let steps = (normalizer?["normalizers"] as? [[String: Any]]) ?? normalizer.map { [$0] } ?? []
        return steps.contains { $0["type"] as? String == "Prepend" || $0["type"] as? String == "Replace" }
    }

    private static func metaspace(
        _ root: [String: Any], model: [String: Any], vocab: [String: Int], merges: [(String, String)],
        added: [SpecialTokens.Token], path: String
    ) throws -> MetaspaceBPETokenizer {
        try TokenizerIDs.check(vocab: vocab, added: added, path: path)
        var normalizations: [MetaspaceBPETokenizer.Normalization] = []
        if let normalizer = root["normalizer"] as? [String: Any] {
            let steps = (normalizer["type"] as? String == "Sequence") ? (normalizer["normalizers"] as? [[String: Any]] ?? []) : [normalizer]
            for step in steps {
                switch step["type"] as? String {
                case "Prepend":
                    normalizations.append(.prepend(step["prepend"] as? String ?? ""))
                case "Replace":
                    guard let pattern = (step["pattern"] as? [String: Any])?["String"] as? String else {
                        throw TokenizerError.unsupported(path: path, feature: "Replace normalizer with a regex pattern")
                    }
                    normalizations.append(.replace(pattern, step["content"] as? String ?? ""))
                default:
                    throw TokenizerError.unsupported(path: path, feature: "normalizer \(step["type"] ?? "?")")
                }
            }
        }
        var prependScheme: MetaspaceBPETokenizer.PrependScheme?
        var splitWords = false
        if let preTokenizer = root["pre_tokenizer"] as? [String: Any] {
            guard preTokenizer["type"] as? String == "Metaspace" else {
                throw TokenizerError.unsupported(
                    path: path, feature: "pre-tokenizer \(describe(preTokenizer)) with a SentencePiece-style model")
            }
            if let scheme = preTokenizer["prepend_scheme"] as? String {
                guard let known = MetaspaceBPETokenizer.PrependScheme(rawValue: scheme) else {
                    throw TokenizerError.unsupported(path: path, feature: "Metaspace prepend_scheme \(scheme)")
                }
                prependScheme = known
            } else {
                prependScheme = (preTokenizer["add_prefix_space"] as? Bool ?? true) ? .always : .never
            }
            splitWords = preTokenizer["split"] as? Bool ?? true
        }
        let size = Swift.max((vocab.values.max() ?? -1) + 1, (added.map(\.id).max() ?? -1) + 1)
        var strings = [String](repeating: "", count: size)
        var byteValues: [Int: UInt8] = [:]
        var byteIDs: [Int] = []
        for (token, id) in vocab {
            strings[id] = token
            if token.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"), let value = UInt8(token.dropFirst(3).dropLast(), radix: 16) {
                byteValues[id] = value
            }
        }
        if model["byte_fallback"] as? Bool == true {
            byteIDs = [Int](repeating: -1, count: 256)
            for (id, value) in byteValues { byteIDs[Int(value)] = id }
            if let missing = byteIDs.firstIndex(of: -1) {
                throw TokenizerError.malformed(path: path, reason: "byte_fallback is on but byte \(missing) has no <0x..> token")
            }
        }
        let table = try mergeTable(vocab: vocab, merges: merges, path: path)
        let (prefix, suffix) = try template(root["post_processor"], vocab: vocab, added: added, path: path)
        let decoders = ((root["decoder"] as? [String: Any])?["decoders"] as? [[String: Any]]) ?? []
        let strip =
            decoders.first { $0["type"] as? String == "Strip" }?["start"] as? Int
            ?? (describe(root["decoder"]) == "Metaspace" && prependScheme != .never ? 1 : 0)
        let unknown = (model["unk_token"] as? String).flatMap { vocab[$0] }
        var characterIDs: [UInt32: Int] = [:]
        for (token, id) in vocab where token.unicodeScalars.count == 1 { characterIDs[token.unicodeScalars.first!.value] = id }
        return MetaspaceBPETokenizer(
            model: BytePairModel(merges: table), vocabulary: vocab, characterIDs: characterIDs, tokenStrings: strings,
            byteIDs: byteIDs, byteValues: byteValues, unknownID: unknown, specials: SpecialTokens(added),
            normalizations: normalizations, prependScheme: prependScheme, splitWords: splitWords,
            prefixIDs: prefix, suffixIDs: suffix, stripLeadingSpaces: strip)
    }

    private static func mergePairs(_ value: Any?, path: String) throws -> [(String, String)] {
        guard let list = value as? [Any] else { throw TokenizerError.malformed(path: path, reason: "model.merges is not a list") }
        return try list.enumerated().map { index, entry in
            if let text = entry as? String {
                let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.malformed(path: path, reason: "merge \(index) '\(text)' is not two tokens")
                }
                return (String(parts[0]), String(parts[1]))
            }
            if let pair = entry as? [String], pair.count == 2 { return (pair[0], pair[1]) }
            throw TokenizerError.malformed(path: path, reason: "merge \(index) is neither 'a b' nor [a, b]")
        }
    }

    private static func addedTokens(_ value: Any?, path: String) throws -> [SpecialTokens.Token] {
        guard let list = value as? [[String: Any]] else { return [] }
        return try list.map { entry in
            guard let content = entry["content"] as? String, let id = entry["id"] as? Int else {
                throw TokenizerError.malformed(path: path, reason: "an added token lacks content or id")
            }
            return SpecialTokens.Token(
                content: Array(content.utf8), id: id,
                absorbsLeftSpace: entry["lstrip"] as? Bool ?? false,
                absorbsRightSpace: entry["rstrip"] as? Bool ?? false)
        }
    }

    /// ByteLevel alone (GPT-2) or Split(pattern) + ByteLevel(use_regex: false) (Llama 3).
    private static func byteLevelPreTokenizer(_ value: Any?, path: String) throws -> (SplitPattern?, Bool) {
        guard let spec = value as? [String: Any], let type = spec["type"] as? String else {
            throw TokenizerError.unsupported(path: path, feature: "a byte-level BPE without a ByteLevel pre-tokenizer")
        }
        switch type {
        case "ByteLevel":
            let useRegex = spec["use_regex"] as? Bool ?? true
            return (useRegex ? .gpt2 : nil, spec["add_prefix_space"] as? Bool ?? false)
        case "Sequence":
            guard let steps = spec["pretokenizers"] as? [[String: Any]] else {
                throw TokenizerError.malformed(path: path, reason: "Sequence without pretokenizers")
            }
            var pattern: SplitPattern?
            var prefixSpace = false
            for step in steps {
                switch step["type"] as? String {
                case "Split":
                    guard let regex = (step["pattern"] as? [String: Any])?["Regex"] as? String else {
                        throw TokenizerError.unsupported(path: path, feature: "Split without a Regex pattern")
                    }
                    guard let known = SplitPattern(regex: regex) else {
                        throw TokenizerError.unsupported(path: path, feature: "split pattern \(regex) (known: GPT-2, Llama 3)")
                    }
                    pattern = known
                case "ByteLevel":
                    if step["use_regex"] as? Bool ?? true { pattern = pattern ?? .gpt2 }
                    prefixSpace = step["add_prefix_space"] as? Bool ?? false
                default:
                    throw TokenizerError.unsupported(path: path, feature: "pre-tokenizer \(step["type"] ?? "?") in a Sequence")
                }
            }
            return (pattern, prefixSpace)
        default:
            throw TokenizerError.unsupported(path: path, feature: "pre-tokenizer \(type) for a byte-level model")
        }
    }

    /// Ids a TemplateProcessing post-processor puts around a single sequence; ByteLevel adds none.
    static func template(
        _ value: Any?, vocab: [String: Int], added: [SpecialTokens.Token],
        path: String
    ) throws -> ([Int], [Int]) {
        guard let spec = value as? [String: Any], let type = spec["type"] as? String else { return ([], []) }
        switch type {
        case "ByteLevel": return ([], [])
        case "TemplateProcessing":
            guard let single = spec["single"] as? [[String: Any]] else {
                throw TokenizerError.malformed(path: path, reason: "TemplateProcessing without 'single'")
            }
            let specialIDs = (spec["special_tokens"] as? [String: [String: Any]]) ?? [:]
            var prefix: [Int] = []
            var suffix: [Int] = []
            var seenSequence = false
            for item in single {
                if item["Sequence"] != nil {
                    seenSequence = true
                } else if let token = (item["SpecialToken"] as? [String: Any])?["id"] as? String {
                    guard let ids = specialIDs[token]?["ids"] as? [Int] else {
                        throw TokenizerError.malformed(path: path, reason: "template token \(token) has no ids")
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                }
            }
            return (prefix, suffix)
        case "Sequence":
            var prefix: [Int] = []
            var suffix: [Int] = []
            for step in (spec["processors"] as? [Any]) ?? [] {
                let (p, s) = try template(step, vocab: vocab, added: added, path: path)
                prefix += p
                suffix += s
            }
            return (prefix, suffix)
        default:
            throw TokenizerError.unsupported(path: path, feature: "post-processor \(type)")
        }
    }

    // MARK: vocab.json + merges.txt

    static func loadVocabAndMerges(vocab vocabPath: String, merges mergesPath: String, config configPath: String) throws -> any Tokenizer {
        guard let vocab = try readJSON(vocabPath) as? [String: Int] else {
            throw TokenizerError.malformed(path: vocabPath, reason: "not a mapping of strings to ids")
        }
        guard let mergesText = try? String(contentsOfFile: mergesPath, encoding: .utf8) else {
            throw TokenizerError.unreadable(path: mergesPath, reason: "not readable as UTF-8")
        }
        var merges: [(String, String)] = []
        for (index, line) in mergesText.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if index == 0 && line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw TokenizerError.malformed(path: mergesPath, reason: "line \(index + 1) is not two tokens") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        var added: [SpecialTokens.Token] = []
        var addPrefixSpace = false
        if FileManager.default.fileExists(atPath: configPath), let config = try readJSON(configPath) as [String: Any]? {
            addPrefixSpace = config["add_prefix_space"] as? Bool ?? false
            for (id, entry) in (config["added_tokens_decoder"] as? [String: [String: Any]]) ?? [:] {
                if let content = entry["content"] as? String, let id = Int(id) {
                    added.append(
                        SpecialTokens.Token(
                            content: Array(content.utf8), id: id,
                            absorbsLeftSpace: entry["lstrip"] as? Bool ?? false,
                            absorbsRightSpace: entry["rstrip"] as? Bool ?? false))
                }
            }
        }
        // GPT-2's files mark <|endoftext|> only in the vocabulary; it is matched as a special token all the same.
        if added.isEmpty, let id = vocab["<|endoftext|>"] {
            added.append(SpecialTokens.Token(content: Array("<|endoftext|>".utf8), id: id))
        }
        return try byteLevel(
            vocab: vocab, merges: merges, added: added, pattern: .gpt2, addPrefixSpace: addPrefixSpace,
            prefixIDs: [], suffixIDs: [], path: vocabPath)
    }

    // MARK: Shared

    static func byteLevel(
        vocab: [String: Int], merges: [(String, String)], added: [SpecialTokens.Token], pattern: SplitPattern?,
        addPrefixSpace: Bool, prefixIDs: [Int], suffixIDs: [Int], path: String
    ) throws -> ByteLevelBPETokenizer {
        try TokenizerIDs.check(vocab: vocab, added: added, path: path)
        let size = (vocab.values.max() ?? -1) + 1
        var tokenBytes = [[UInt8]](repeating: [], count: size)
        for (token, id) in vocab {
            guard let bytes = ByteLevelAlphabet.decode(token) else {
                if added.contains(where: { $0.id == id }) { continue }
                throw TokenizerError.malformed(path: path, reason: "vocabulary token '\(token)' is not in the byte-level alphabet")
            }
            tokenBytes[id] = bytes
        }
        var byteIDs = [Int](repeating: -1, count: 256)
        for byte in 0..<256 {
            guard let id = vocab[String(ByteLevelAlphabet.characters[byte])] else {
                throw TokenizerError.malformed(path: path, reason: "byte \(byte) has no token in the vocabulary")
            }
            byteIDs[byte] = id
        }
        let table = try mergeTable(vocab: vocab, merges: merges, path: path)
        return ByteLevelBPETokenizer(
            model: BytePairModel(merges: table), byteIDs: byteIDs, tokenBytes: tokenBytes,
            pattern: pattern, addPrefixSpace: addPrefixSpace, specials: SpecialTokens(added),
            prefixIDs: prefixIDs, suffixIDs: suffixIDs, vocabulary: vocab)
    }

    /// Merge pairs as token ids, ranked by their line; the first of duplicate pairs wins, as in the library.
    static func mergeTable(vocab: [String: Int], merges: [(String, String)], path: String) throws -> [UInt64: UInt64] {
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocab[left], let rightID = vocab[right], let merged = vocab[left + right] else {
                throw TokenizerError.malformed(
                    path: path, reason: "merge \(rank) '\(left) \(right)' uses a token missing from the vocabulary")
            }
            let key = BytePairModel.key(leftID, rightID)
            if table[key] == nil { table[key] = BytePairModel.value(rank: rank, merged: merged) }
        }
        return table
    }

    static func readJSON(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadable(path: path, reason: "no such file or not readable")
        }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError.malformed(path: path, reason: "the top level is not a JSON object")
            }
            return object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.malformed(path: path, reason: "invalid JSON: \(error.localizedDescription)")
        }
    }

    static func describe(_ value: Any?) -> String {
        (value as? [String: Any])?["type"] as? String ?? "\(value ?? "none")"
    }
}

/// Whether `name` has the shape of a Hugging Face hub id (`organisation/model`) rather than a path.
public func looksLikeHubID(_ name: String) -> Bool {
    let parts = name.split(separator: "/", omittingEmptySubsequences: false)
    return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
        && !name.hasPrefix(".") && !name.contains("\\")
}
