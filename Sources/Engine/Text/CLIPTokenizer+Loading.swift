import Foundation

extension CLIPTokenizer {
    /// Loads a diffusers `tokenizer/` folder: `vocab.json` + `merges.txt` or `tokenizer.json`, plus
    /// `tokenizer_config.json` (and `special_tokens_map.json`) for the special tokens and `model_max_length`.
    public static func load(folder: String) throws -> CLIPTokenizer {
        let fm = FileManager.default
        let configPath = folder + "/tokenizer_config.json"
        let config = fm.fileExists(atPath: configPath) ? try ConfigReader(path: configPath).json : [:]
        let specialMap = (try? ConfigReader(path: folder + "/special_tokens_map.json").json) ?? [:]
        func special(_ key: String, _ fallback: String) -> String {
            tokenText(config[key]) ?? tokenText(specialMap[key]) ?? fallback
        }
        var maxLength = 77
        if let m = config["model_max_length"] as? NSNumber, m.doubleValue < 1e9 { maxLength = m.intValue }

        let (vocab, merges): ([String: Int32], [(String, String)])
        if fm.fileExists(atPath: folder + "/vocab.json") && fm.fileExists(atPath: folder + "/merges.txt") {
            vocab = try readVocab(folder + "/vocab.json")
            merges = try readMerges(folder + "/merges.txt")
        } else if fm.fileExists(atPath: folder + "/tokenizer.json") {
            (vocab, merges) = try readTokenizerJSON(folder + "/tokenizer.json")
        } else {
            throw EngineError.tokenizer(path: folder, reason: "needs vocab.json + merges.txt or tokenizer.json")
        }
        return try CLIPTokenizer(vocab: vocab, merges: merges, maxLength: maxLength,
                                 bos: special("bos_token", "<|startoftext|>"), eos: special("eos_token", "<|endoftext|>"),
                                 pad: special("pad_token", "<|endoftext|>"), unk: special("unk_token", "<|endoftext|>"),
                                 path: folder)
    }

    /// A character-level CLIP tokenizer (the 512 byte-level symbols, no merges) for configs that ship no
    /// vocabulary, e.g. benchmarking with random weights.
    public static func byteLevel(maxLength: Int = 77) throws -> CLIPTokenizer {
        var vocab: [String: Int32] = [:]
        for (i, s) in (ByteAlphabet.table + ByteAlphabet.table.map { $0 + "</w>" }).enumerated() { vocab[s] = Int32(i) }
        vocab["<|startoftext|>"] = 512
        vocab["<|endoftext|>"] = 513
        return try CLIPTokenizer(vocab: vocab, merges: [], maxLength: maxLength)
    }

    /// A special token written as a string or as an AddedToken dict {"content": …}.
    private static func tokenText(_ v: Any?) -> String? {
        if let s = v as? String { return s }
        if let d = v as? [String: Any] { return d["content"] as? String }
        return nil
    }

    static func readVocab(_ path: String) throws -> [String: Int32] {
        let json = try ConfigReader(path: path).json
        var vocab: [String: Int32] = [:]
        for (k, v) in json {
            guard let n = v as? NSNumber else { throw EngineError.tokenizer(path: path, reason: "entry '\(k)' is not an integer id") }
            vocab[k] = n.int32Value
        }
        return vocab
    }

    static func readMerges(_ path: String) throws -> [(String, String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw EngineError.tokenizer(path: path, reason: "cannot read as UTF-8")
        }
        var merges: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("#version") || line.isEmpty { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw EngineError.tokenizer(path: path, reason: "line \(n + 1): expected two symbols, found '\(line.prefix(40))'") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    static func readTokenizerJSON(_ path: String) throws -> ([String: Int32], [(String, String)]) {
        let json = try ConfigReader(path: path).json
        guard let model = json["model"] as? [String: Any], let rawVocab = model["vocab"] as? [String: Any],
              let rawMerges = model["merges"] as? [Any] else {
            throw EngineError.tokenizer(path: path, reason: "needs model.vocab and model.merges (a BPE model)")
        }
        var vocab: [String: Int32] = [:]
        for (k, v) in rawVocab { vocab[k] = (v as? NSNumber)?.int32Value }
        for t in json["added_tokens"] as? [[String: Any]] ?? [] {
            if let c = t["content"] as? String, let id = t["id"] as? NSNumber { vocab[c] = id.int32Value }
        }
        var merges: [(String, String)] = []
        for (i, m) in rawMerges.enumerated() {
            if let s = m as? String {
                let p = s.split(separator: " ")
                guard p.count == 2 else { throw EngineError.tokenizer(path: path, reason: "merge \(i): '\(s)' is not two symbols") }
                merges.append((String(p[0]), String(p[1])))
            } else if let p = m as? [String], p.count == 2 {
                merges.append((p[0], p[1]))
            } else {
                throw EngineError.tokenizer(path: path, reason: "merge \(i) is neither \"a b\" nor [a, b]")
            }
        }
        return (vocab, merges)
    }
}
