import Foundation

/// Reads prompt files line by line without loading them whole: plain text (one prompt per line), JSONL
/// (`{"prompt": …, "seed": …, "negative_prompt": …, "width": …, "height": …, "steps": …, "guidance": …,
/// "priority": …, "key": …}`) or CSV with a header row naming the same columns. Every error names the file
/// and line. A leading UTF-8 byte-order mark is dropped, duplicate JSON keys are refused. Blank lines are skipped; keys default to "line:N" with N the physical line number, so rerunning
/// the same file is idempotent.
public struct PromptFile {
    public enum Format: String, CaseIterable, Sendable { case txt, jsonl, csv }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let file: String, line: Int, message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    public let path: String
    public let format: Format
    private let handle: FileHandle

    /// Opens `path` ("-" for standard input); the format comes from the extension unless given.
    public init(path: String, format: Format? = nil) throws {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else {
                throw ParseError(file: path, line: 0, message: "cannot open file (missing or unreadable)")
            }
            handle = h
        }
        let ext = (path as NSString).pathExtension.lowercased()
        self.format = format ?? (ext == "jsonl" || ext == "ndjson" ? .jsonl : ext == "csv" ? .csv : .txt)
    }

    /// Calls `body` with each job and its line number, in order.
    public func forEach(_ body: (Int, WireJob) throws -> Void) throws {
        var csvColumns: [String]?
        try forEachLine { number, line in
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { return }
            switch format {
            case .txt: try body(number, WireJob(prompt: line, key: "line:\(number)"))
            case .jsonl: try body(number, try jsonJob(line, number))
            case .csv:
                guard let columns = csvColumns else {
                    let header = try csvFields(line, number).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                    guard header.contains("prompt") else { throw error(number, "CSV header must name a 'prompt' column, found \(header)") }
                    csvColumns = header
                    return
                }
                try body(number, try csvJob(try csvFields(line, number), columns, number))
            }
        }
    }

    private func csvFields(_ line: String, _ n: Int) throws -> [String] {
        do { return try CSV.fields(line) } catch { throw self.error(n, "\(error)") }
    }

    private func error(_ line: Int, _ message: String) -> ParseError { ParseError(file: path, line: line, message: message) }

    /// Splits the stream on "\n" (dropping a trailing "\r"), validating UTF-8 per line.
    private func forEachLine(_ body: (Int, String) throws -> Void) throws {
        var pending = Data()
        var number = 0
        func emit(_ bytes: Data) throws {
            number += 1
            var b = bytes
            if b.last == 0x0D { b.removeLast() }
            // A UTF-8 byte-order mark (Windows editors write one) is not part of the first prompt or header.
            if number == 1 && b.starts(with: [0xEF, 0xBB, 0xBF]) { b = b.dropFirst(3) }
            guard let s = String(validating: b, as: UTF8.self) else { throw error(number, "invalid UTF-8") }
            try body(number, s)
        }
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                try emit(pending[start..<nl])
                start = pending.index(after: nl)
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try emit(pending) }
    }

    private func jsonJob(_ line: String, _ n: Int) throws -> WireJob {
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw error(n, "not a JSON object")
        }
        if let key = JSONObjectKeys.firstDuplicate(in: line) { throw error(n, "key '\(key)' appears twice in the object") }
        var fields: [String: String] = [:]
        for (k, v) in obj {
            if v is NSNull { continue }
            if let s = v as? String { fields[k] = s } else if let num = v as? NSNumber {
                guard !String(describing: type(of: num)).contains("Bool") else { throw error(n, "field '\(k)' must not be a boolean") }
                // Integers keep every digit (seeds are 63-bit); other numbers print as decimals.
                fields[k] = ["f", "d"].contains(String(cString: num.objCType)) ? "\(num.doubleValue)" : "\(num.int64Value)"
            } else { throw error(n, "field '\(k)' must be a string or a number") }
        }
        return try job(fields, n, requireStringPrompt: obj["prompt"] is String)
    }

    private func csvJob(_ values: [String], _ columns: [String], _ n: Int) throws -> WireJob {
        guard values.count == columns.count else { throw error(n, "has \(values.count) fields, the header has \(columns.count)") }
        var fields: [String: String] = [:]
        for (c, v) in zip(columns, values) where !v.isEmpty { fields[c] = v }
        return try job(fields, n, requireStringPrompt: true)
    }

    private func job(_ f: [String: String], _ n: Int, requireStringPrompt: Bool) throws -> WireJob {
        let known: Set<String> = ["prompt", "seed", "negative_prompt", "width", "height", "steps", "guidance", "priority", "key"]
        if let unknown = f.keys.sorted().first(where: { !known.contains($0) }) {
            throw error(n, "unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        guard let prompt = f["prompt"], requireStringPrompt else { throw error(n, "missing 'prompt' (a string)") }
        func int(_ k: String) throws -> Int? {
            guard let s = f[k] else { return nil }
            guard let v = Int(s) else { throw error(n, "'\(k)' must be an integer, got \(s)") }
            return v
        }
        var j = WireJob(prompt: prompt, negativePrompt: f["negative_prompt"], key: f["key"] ?? "line:\(n)")
        if let s = f["seed"] {
            guard let seed = Int64(s), seed >= 0 else { throw error(n, "'seed' must be an integer from 0 to 2^63−1, got \(s)") }
            j.seed = seed
        }
        j.width = try int("width")
        j.height = try int("height")
        j.steps = try int("steps")
        j.priority = try int("priority")
        if let g = f["guidance"] {
            guard let v = Double(g), v.isFinite else { throw error(n, "'guidance' must be a number, got \(g)") }
            j.guidance = v
        }
        return j
    }
}

/// Minimal RFC 4180 field splitting for one line (quoted fields, doubled quotes; no embedded newlines).
enum CSV {
    struct Unterminated: Error, CustomStringConvertible { var description: String { "unterminated quoted field" } }

    static func fields(_ line: String) throws -> [String] {
        var out: [String] = [], cur = "", quoted = false, i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if quoted {
                if c == "\"" {
                    let next = line.index(after: i)
                    if next < line.endIndex && line[next] == "\"" { cur.append("\""); i = next } else { quoted = false }
                } else { cur.append(c) }
            } else if c == "\"" && cur.isEmpty {
                quoted = true
            } else if c == "," {
                out.append(cur)
                cur = ""
            } else { cur.append(c) }
            i = line.index(after: i)
        }
        if quoted { throw Unterminated() }
        out.append(cur)
        return out
    }
}
