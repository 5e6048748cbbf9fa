/// CLIP's normalisation and pre-tokenisation, hand-written to match the tokenizers pipeline exactly:
/// NFC → `\s+` → " " → lowercase, then the split regex
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// keeping matches and dropping everything between them (whitespace).
enum CLIPPreTokenizer {
    enum Piece: Equatable { case special(String), word(String) }

    static let specials = ["<|startoftext|>", "<|endoftext|>"]
    static let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]

    static func split(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        // Special tokens are matched on the raw text, before normalisation (added tokens in tokenizers).
        var rest = Substring(text)
        while let (range, special) = firstSpecial(in: rest) {
            pieces += words(normalize(String(rest[..<range.lowerBound]))).map(Piece.word)
            pieces.append(.special(special))
            rest = rest[range.upperBound...]
        }
        pieces += words(normalize(String(rest))).map(Piece.word)
        return pieces
    }

    private static func firstSpecial(in s: Substring) -> (Range<Substring.Index>, String)? {
        specials.compactMap { sp in s.range(of: sp).map { ($0, sp) } }.min { $0.0.lowerBound < $1.0.lowerBound }
    }

    static func normalize(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var inSpace = false
        for u in s.precomposedStringWithCanonicalMapping.unicodeScalars {
            if u.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
            } else {
                out.append(u)
                inSpace = false
            }
        }
        return String(out).lowercased()
    }

    enum Kind { case letter, number, space, other }

    static func kind(_ u: Unicode.Scalar) -> Kind {
        if u.properties.isWhitespace { return .space }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The regex's matches over normalised text.
    static func words(_ s: String) -> [String] {
        let u = Array(s.unicodeScalars)
        var out: [String] = []
        var i = 0
        func take(_ n: Int) { var v = String.UnicodeScalarView(); v.append(contentsOf: u[i..<i + n]); out.append(String(v)); i += n }
        while i < u.count {
            if u[i] == "'", let c = contractions.first(where: { matches($0, u, at: i) }) { take(c.unicodeScalars.count); continue }
            switch kind(u[i]) {
            case .space: i += 1
            case .number: take(1)
            case .letter: take(run(u, from: i) { kind($0) == .letter })
            case .other: take(run(u, from: i) { kind($0) == .other })
            }
        }
        return out
    }

    private static func matches(_ c: String, _ u: [Unicode.Scalar], at i: Int) -> Bool {
        let cs = Array(c.unicodeScalars)
        return i + cs.count <= u.count && Array(u[i..<i + cs.count]) == cs
    }

    private static func run(_ u: [Unicode.Scalar], from i: Int, _ pred: (Unicode.Scalar) -> Bool) -> Int {
        var j = i
        while j < u.count && pred(u[j]) { j += 1 }
        return j - i
    }
}
