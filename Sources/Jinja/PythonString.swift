/// Python `str` operations with Python's results (code points, not grapheme clusters).
enum PythonString {
    /// `str.isspace()` for one code point.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    /// `str.strip(chars)`; `chars == nil` strips whitespace.
    static func strip(_ s: String, _ chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let strip: (Unicode.Scalar) -> Bool = { set?.contains($0) ?? isSpace($0) }
        var scalars = Substring(s).unicodeScalars[...]
        if leading { while let f = scalars.first, strip(f) { scalars.removeFirst() } }
        if trailing { while let l = scalars.last, strip(l) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    /// `str.capitalize()`: the first character upper case, the rest lower case.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return String(first).uppercased() + String(String.UnicodeScalarView(s.unicodeScalars.dropFirst())).lowercased()
    }

    /// Jinja2's `title` filter: each word split at whitespace, `-` or an opening bracket, capitalised.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var word = ""
        func flush() {
            if !word.isEmpty { out += capitalizeFirst(word) }
            word = ""
        }
        for scalar in s.unicodeScalars {
            if isSpace(scalar) || "-({[<".unicodeScalars.contains(scalar) {
                flush()
                out.unicodeScalars.append(scalar)
            } else {
                word.unicodeScalars.append(scalar)
            }
        }
        flush()
        return out
    }

    private static func capitalizeFirst(_ word: String) -> String {
        guard let first = word.unicodeScalars.first else { return word }
        return String(first).uppercased() + String(String.UnicodeScalarView(word.unicodeScalars.dropFirst())).lowercased()
    }

    /// `str.title()`: a letter after a non-letter upper case, other letters lower case.
    static func pythonTitle(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for scalar in s.unicodeScalars {
            let cased = scalar.properties.isCased
            out += previousCased ? String(scalar).lowercased() : String(scalar).uppercased()
            previousCased = cased
        }
        return out
    }

    /// `str.replace(old, new, count)`.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) -> String {
        guard let count, count >= 0 else {
            if old.isEmpty { return new + s.unicodeScalars.map { String($0) + new }.joined() }
            return s.replacingOccurrences(of: old, with: new)
        }
        var out = ""
        var rest = Substring(s)
        var done = 0
        while done < count, !old.isEmpty, let range = rest.range(of: old) {
            out += rest[..<range.lowerBound] + new
            rest = rest[range.upperBound...]
            done += 1
        }
        return out + rest
    }

    /// `str.split(sep, maxsplit)`; `sep == nil` splits at runs of whitespace and drops empty parts.
    static func split(_ s: String, _ separator: String?, maxSplit: Int = -1) -> [String] {
        guard let separator, !separator.isEmpty else {
            var parts: [String] = []
            var current = ""
            var inWord = false
            var splits = 0
            for scalar in s.unicodeScalars {
                if isSpace(scalar), maxSplit < 0 || splits < maxSplit || !inWord {
                    if inWord {
                        parts.append(current)
                        current = ""
                        inWord = false
                        splits += 1
                    }
                } else {
                    current.unicodeScalars.append(scalar)
                    inWord = true
                }
            }
            if inWord { parts.append(maxSplit >= 0 && splits >= maxSplit ? strip(current, nil, leading: false) : current) }
            return parts
        }
        var parts: [String] = []
        var rest = Substring(s)
        while maxSplit < 0 || parts.count < maxSplit, let range = rest.range(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }

    /// `str.splitlines()`.
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in s.unicodeScalars {
            if previousCR && scalar == "\n" { previousCR = false; continue }
            previousCR = false
            if ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar) {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                previousCR = scalar == "\r"
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    /// Jinja2 3.1's `indent` filter.
    static func indent(_ s: String, width: String, first: Bool, blank: Bool) -> String {
        let lines = splitLines(s + "\n")
        var out: String
        if blank {
            out = lines.joined(separator: "\n" + width)
        } else {
            out = lines.first ?? ""
            if lines.count > 1 {
                out += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : width + $0 }.joined(separator: "\n")
            }
        }
        return first ? width + out : out
    }
}
