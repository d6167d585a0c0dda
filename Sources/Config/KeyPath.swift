/// Dotted key paths such as `settings.step_profile.sequence_length` or `eval_dataloaders[0].config`.
enum KeyPath {
    enum Segment: Equatable, CustomStringConvertible {
        case key(String)
        case index(Int)

        var description: String {
            switch self {
            case .key(let key): return key
            case .index(let index): return "[\(index)]"
            }
        }
    }

    /// Splits `a.b[0].c`; nil when malformed.
    static func split(_ path: String) -> [Segment]? {
        var segments: [Segment] = []
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            guard !rest.isEmpty else { return nil }
            if let bracket = rest.firstIndex(of: "[") {
                let key = rest[..<bracket]
                if !key.isEmpty { segments.append(.key(String(key))) }
                rest = rest[bracket...]
                while rest.first == "[" {
                    guard let close = rest.firstIndex(of: "]"), let index = Int(rest[rest.index(after: rest.startIndex)..<close]) else {
                        return nil
                    }
                    segments.append(.index(index))
                    rest = rest[rest.index(after: close)...]
                }
                guard rest.isEmpty else { return nil }
            } else {
                segments.append(.key(String(rest)))
            }
        }
        return segments
    }

    /// Joins segments as written in messages: keys with dots, indices in brackets.
    static func join(_ segments: [String]) -> String {
        var path = ""
        for segment in segments {
            if segment.hasPrefix("[") || path.isEmpty { path += segment } else { path += "." + segment }
        }
        return path
    }
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
public func closestMatch(to word: String, in candidates: [String]) -> String? {
    let lowered = word.lowercased()
    // A key with something appended or cut off ("lr_rate" for "lr") is a likely slip too.
    if let affix = candidates.filter({ candidate in
        let other = candidate.lowercased()
        return other.count >= 2 && lowered.count >= 2 && (lowered.hasPrefix(other) || other.hasPrefix(lowered))
    }).min(by: { Swift.abs($0.count - word.count) < Swift.abs($1.count - word.count) }) {
        return affix
    }
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= Swift.max(2, word.count / 3) ? best.0 : nil
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
