import Foundation

/// CLIP's byte-level BPE tokenizer, producing the same ids as transformers' `CLIPTokenizer`
/// (transformers/models/clip/tokenization_clip.py: NFC, whitespace runs → " ", lowercase, CLIP's split regex,
/// byte-level alphabet, BPE with a "</w>" end-of-word suffix, BOS/EOS, right padding to `model_max_length`).
public final class CLIPTokenizer: @unchecked Sendable {
    public let vocab: [String: Int32]
    let ranks: [Pair: Int]
    public let bosId: Int32, eosId: Int32, padId: Int32, unkId: Int32
    /// Sequence length after truncation and padding (77 for CLIP).
    public let maxLength: Int
    private var cache: [String: [Int32]] = [:]
    private let lock = NSLock()

    struct Pair: Hashable { let a: String, b: String }

    public init(vocab: [String: Int32], merges: [(String, String)], maxLength: Int = 77,
                bos: String = "<|startoftext|>", eos: String = "<|endoftext|>", pad: String = "<|endoftext|>",
                unk: String = "<|endoftext|>", path: String = "tokenizer") throws {
        self.vocab = vocab
        var ranks: [Pair: Int] = [:]
        for (i, m) in merges.enumerated() where ranks[Pair(a: m.0, b: m.1)] == nil { ranks[Pair(a: m.0, b: m.1)] = i }
        self.ranks = ranks
        func id(_ token: String, _ role: String) throws -> Int32 {
            guard let v = vocab[token] else { throw EngineError.tokenizer(path: path, reason: "\(role) token '\(token)' is not in the vocabulary") }
            return v
        }
        bosId = try id(bos, "bos")
        eosId = try id(eos, "eos")
        padId = try id(pad, "pad")
        unkId = try id(unk, "unk")
        guard maxLength >= 2 else { throw EngineError.tokenizer(path: path, reason: "model_max_length \(maxLength) is too small") }
        self.maxLength = maxLength
    }

    /// Token ids with BOS/EOS, truncated to `maxLength` and right-padded with the pad token.
    public func encode(_ text: String) -> [Int32] {
        var ids = [bosId] + Array(encodeContent(text).prefix(maxLength - 2)) + [eosId]
        ids += [Int32](repeating: padId, count: maxLength - ids.count)
        return ids
    }

    /// Content ids only (no BOS/EOS, no truncation).
    public func encodeContent(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for piece in CLIPPreTokenizer.split(text) {
            switch piece {
            case .special(let s): ids.append(s == "<|startoftext|>" ? bosId : eosId)
            case .word(let w): ids += bpe(byteLevel(w))
            }
        }
        return ids
    }

    /// GPT-2's byte → printable-character alphabet applied to the word's UTF-8 bytes.
    func byteLevel(_ word: String) -> [String] {
        word.utf8.map { ByteAlphabet.table[Int($0)] }
    }

    /// Applies merges by rank until none applies; symbols not in the vocabulary map to the unknown token.
    func bpe(_ chars: [String]) -> [Int32] {
        guard !chars.isEmpty else { return [] }
        let key = chars.joined()
        lock.lock(); defer { lock.unlock() }
        if let hit = cache[key] { return hit }
        var symbols = chars
        symbols[symbols.count - 1] += "</w>"
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)? = nil
            for i in 0..<(symbols.count - 1) {
                if let r = ranks[Pair(a: symbols[i], b: symbols[i + 1])], r < (best?.rank ?? .max) { best = (r, i) }
            }
            guard let (_, i) = best else { break }
            // Merge every occurrence of this pair left to right, as the reference implementations do.
            let (a, b) = (symbols[i], symbols[i + 1])
            var merged: [String] = []
            var j = 0
            while j < symbols.count {
                if j < symbols.count - 1 && symbols[j] == a && symbols[j + 1] == b { merged.append(a + b); j += 2 }
                else { merged.append(symbols[j]); j += 1 }
            }
            symbols = merged
        }
        let ids = symbols.map { vocab[$0] ?? unkId }
        if cache.count < 100_000 { cache[key] = ids }
        return ids
    }
}

/// GPT-2's reversible byte → unicode table (bytes_to_unicode).
enum ByteAlphabet {
    static let table: [String] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var codes = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
        }
        var table = [String](repeating: "", count: 256)
        for (b, c) in zip(printable, codes) { table[b] = String(Character(Unicode.Scalar(UInt32(c))!)) }
        return table
    }()
}
