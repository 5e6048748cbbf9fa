import ArgumentParser
import Foundation
import Wire

/// `mdctl submit`: prompts as arguments, from a file (-f: txt, JSONL, CSV; "-" for stdin) or piped stdin.
/// Files are read twice, streaming: once to validate every line (nothing is sent if any line is bad), then to
/// send chunks. Keys are per line, so rerunning the same submit enqueues nothing twice.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Submit prompts as a batch.", discussion: "Example: mdctl submit -f prompts.txt --batch cats --seed 1000 --wait")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Prompts (one job each).") var prompts: [String] = []
    @Option(name: [.customShort("f"), .long], help: "Prompt file: .txt (one per line), .jsonl or .csv; '-' reads stdin.") var file: String?
    @Option(help: "File format when the extension does not say: txt, jsonl, csv.") var format: String?
    @Option(help: "Batch name (letters, digits, '-', '_', '.'); default: the file's name or 'adhoc-<time>'.") var batch: String?
    @Option(help: "Base seed: job i gets seed + i unless it names its own (default: random per job, recorded).") var seed: Int64?
    @Option(help: "Priority (higher first).") var priority = 0
    @Option(help: "Width in pixels (default: the model's).") var width: Int?
    @Option(help: "Height in pixels (default: the model's).") var height: Int?
    @Option(help: "Denoising steps.") var steps = 1
    @Option(help: "Guidance scale (≤ 1: none).") var guidance = 0.0
    @Option(name: .customLong("negative-prompt"), help: "Negative prompt for jobs that name none.") var negativePrompt: String?
    @Option(name: .customLong("max-attempts"), help: "Attempts before a job fails for good.") var maxAttempts = 3
    @Option(name: .customLong("chunk"), help: "Jobs per request.") var chunk = 20_000
    @Flag(help: "Show progress until the batch finishes (exit 7 if any job failed).") var wait = false
    @Flag(help: "Send arguments as prompts even when they name existing files.") var literal = false

    func validate() throws {
        if file != nil && !prompts.isEmpty { throw ValidationError("give prompts as arguments or with -f, not both") }
        if let seed, seed < 0 { throw ValidationError("--seed must be a non-negative integer") }
        if let n = negativePrompt, let problem = PromptText.problem(n, field: "--negative-prompt") { throw ValidationError(problem) }
        if let format, PromptFile.Format(rawValue: format) == nil { throw ValidationError("--format must be txt, jsonl or csv") }
        // `mdctl submit prompts.txt` would queue the file's name as one prompt: almost surely a missing -f.
        if !literal, let path = prompts.first(where: Self.isRegularFile) {
            throw ValidationError("'\(path)' is a file: submit its lines with -f \(path) (or add --literal to send the text as a prompt)")
        }
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    func run() throws {
        let source = try jobSource()
        defer { source.removeTemporaryCopy() }
        let name = batch ?? defaultBatchName()
        // Pass 1: validate everything before sending anything.
        var check = SubmitCheck(source: source.name, baseSeed: seed)
        try source.forEach { line, job in check.add(job, line: line) }
        if let failure = check.failure() { throw failure }
        let total = check.lines.count
        guard total > 0 else { throw CtlFailure(.invalid, "no prompts to submit") }
        // Pass 2: send in chunks.
        let client = try global.client()
        var reply = SubmitReply(requested: 0, enqueued: 0, duplicates: 0)
        var pending: [WireJob] = [], sent = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            let r = try check.locating(sent: sent) { try client.call(.submit, request(pending, start: sent), as: SubmitReply.self) }
            reply.requested += r.requested
            reply.enqueued += r.enqueued
            reply.duplicates += r.duplicates
            sent += pending.count
            pending.removeAll(keepingCapacity: true)
            if !global.json && total > chunk { FileHandle.standardError.write(Data("\rsent \(Format.count(sent))/\(Format.count(total))".utf8)) }
        }
        try source.forEach { _, job in
            var j = job
            if j.negativePrompt == nil { j.negativePrompt = negativePrompt }
            pending.append(j)
            if pending.count >= chunk { try flush() }
        }
        try flush()
        if !global.json && total > chunk { FileHandle.standardError.write(Data("\n".utf8)) }
        if global.json { try global.printJSON(SubmitSummary(batch: name, reply: reply)) } else {
            print("batch \(name): \(Format.count(reply.requested)) requested, \(Format.count(reply.enqueued)) enqueued, \(Format.count(reply.duplicates)) duplicates")
        }
        if wait { try Progress.follow(global: global, batch: name, exitOnFailure: true) }
    }

    struct SubmitSummary: Encodable {
        let batch: String
        let reply: SubmitReply
    }

    private func request(_ jobs: [WireJob], start: Int) -> SubmitRequest {
        SubmitRequest(batch: batch ?? defaultBatchName(), baseSeed: seed, steps: steps, guidance: guidance, width: width, height: height,
                      priority: priority, maxAttempts: maxAttempts, startIndex: start, jobs: jobs)
    }

    private func defaultBatchName() -> String {
        if let file, file != "-" {
            let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            let clean = String(base.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) ? Character($0) : "-" })
            if !clean.isEmpty { return clean }
        }
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "adhoc-" + f.string(from: Date())
    }

    private func jobSource() throws -> JobSource {
        if !prompts.isEmpty { return .arguments(prompts) }
        let path = file ?? "-"
        if path == "-" && file == nil && isatty(0) != 0 { throw ValidationError("no prompts: pass them as arguments, with -f FILE, or on stdin") }
        if path == "-" {
            // stdin can be read once only: keep it in a temporary file for the two passes.
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mdctl-stdin-\(getpid()).txt").path
            FileManager.default.createFile(atPath: tmp, contents: FileHandle.standardInput.readDataToEndOfFile())
            return .file(tmp, format.flatMap(PromptFile.Format.init) ?? .txt, displayName: "stdin", temporary: true)
        }
        return .file(path, format.flatMap(PromptFile.Format.init), displayName: path, temporary: false)
    }
}

/// Where submitted jobs come from; iterated twice (validate, send).
enum JobSource {
    case arguments([String])
    /// A file to read; `temporary`: our copy of standard input, deleted afterwards.
    case file(String, PromptFile.Format?, displayName: String, temporary: Bool)

    /// Deletes the copy of standard input (read once, iterated twice) when the submit ends.
    func removeTemporaryCopy() {
        if case .file(let path, _, _, temporary: true) = self { try? FileManager.default.removeItem(atPath: path) }
    }

    var name: String {
        switch self {
        case .arguments: return "argument"
        case .file(_, _, let n, _): return n
        }
    }

    func forEach(_ body: (Int, WireJob) throws -> Void) throws {
        switch self {
        case .arguments(let ps):
            for (i, p) in ps.enumerated() { try body(i + 1, WireJob(prompt: p, key: "arg:\(i + 1):\(p.hashValueStable)")) }
        case .file(let path, let format, _, _):
            do {
                try PromptFile(path: path, format: format).forEach(body)
            } catch let e as PromptFile.ParseError {
                throw CtlFailure(.invalid, "\(e)")
            }
        }
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes, hex: stable across runs (Swift's hashValue is seeded per process).
    var hashValueStable: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}
