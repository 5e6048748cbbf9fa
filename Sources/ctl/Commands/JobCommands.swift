import ArgumentParser
import Foundation
import Wire

/// `mdctl ls`: jobs by batch and state.
struct Ls: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List jobs.", discussion: "Example: mdctl ls --batch cats --state failed")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this batch.") var batch: String?
    @Option(help: "Only this state: pending, running, succeeded, failed, canceled.") var state: String?
    @Option(help: "At most this many.") var limit = 50
    @Option(help: "Only jobs with a larger id (pagination).") var after: Int64 = 0

    func run() throws {
        let r = try global.call(.list, ListRequest(batch: batch, state: state, afterId: after, limit: limit), as: ListReply.self)
        if global.json { return try global.printJSON(r) }
        print(Format.table(["ID", "BATCH", "STATE", "SEED", "TOTAL", "PROMPT"], r.jobs.map {
            [String($0.id), $0.batch, $0.state, String($0.seed), Format.ms($0.timings.totalMs), String($0.prompt.prefix(50))]
        }))
    }
}

/// `mdctl show ID`: one job in full.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one job.", discussion: "Example: mdctl show 42 --json")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Job id.") var id: Int64

    func run() throws {
        let j = try global.call(.show, ShowRequest(id: id), as: JobInfo.self)
        if global.json { return try global.printJSON(j) }
        let t = j.timings
        print("""
            job \(j.id) (\(j.batch), key \(j.key)): \(j.state), attempt \(j.attempts)/\(j.maxAttempts)
            prompt:    \(j.prompt)\(j.negativePrompt.map { "\nnegative:  \($0)" } ?? "")
            seed \(j.seed), steps \(j.steps), guidance \(j.guidance), size \(j.width.map(String.init) ?? "default")x\(j.height.map(String.init) ?? "default"), priority \(j.priority)
            output:    \(j.path ?? "—")\(j.sha256.map { "\nsha256:    \($0)" } ?? "")\(j.error.map { "\nerror:     \($0)" } ?? "")
            timings:   wait \(Format.ms(t.queueWaitMs)), text \(Format.ms(t.textMs)), unet \(Format.ms(t.unetMs)), decode \(Format.ms(t.decodeMs)), png \(Format.ms(t.pngMs)), total \(Format.ms(t.totalMs))
            """)
    }
}

/// `mdctl export`: the batch manifest as JSONL or CSV (job, key, prompt, seed, state, path, sha256, timings).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export a manifest of jobs.", discussion: "Example: mdctl export --batch cats --format csv -o cats.csv")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Batch to export (default: all).") var batch: String?
    @Option(help: "jsonl or csv.") var format = "jsonl"
    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of stdout.") var output: String?

    func validate() throws {
        guard ["jsonl", "csv"].contains(format) else { throw ValidationError("--format must be jsonl or csv") }
    }

    func run() throws {
        let client = try global.client()
        var out = ManifestWriter(path: output, csv: format == "csv")
        try out.header()
        var after: Int64 = 0
        while true {
            let page = try GlobalOptions.map { try client.call(.export, ExportRequest(batch: batch, afterId: after), as: ListReply.self) }
            for j in page.jobs { try out.write(j) }
            guard let last = page.jobs.last else { break }
            after = last.id
        }
        out.close()
    }
}

/// Manifest rows: one flat record per job.
struct ManifestWriter {
    struct Row: Encodable {
        let id: Int64, batch: String, key: String, prompt: String, negativePrompt: String?, seed: Int64
        let width: Int?, height: Int?, steps: Int, guidance: Double, state: String, attempts: Int
        let path: String?, sha256: String?, error: String?
        let queueWaitMs: Double?, textMs: Double?, unetMs: Double?, decodeMs: Double?, pngMs: Double?, totalMs: Double?
        /// The node that rendered (or holds) the job: the first part of its worker id (`NODE:PID:wN`).
        let node: String?
    }

    static let columns = ["id", "batch", "key", "prompt", "negative_prompt", "seed", "width", "height", "steps", "guidance", "state",
                          "attempts", "path", "sha256", "error", "queue_wait_ms", "text_ms", "unet_ms", "decode_ms", "png_ms", "total_ms",
                          "node"]  // new columns go last: consumers that read CSV by position keep working
    private let handle: FileHandle
    private let csv: Bool
    private let encoder = WireCoding.encoder()

    init(path: String?, csv: Bool) {
        if let path {
            FileManager.default.createFile(atPath: path, contents: nil)
            handle = FileHandle(forWritingAtPath: path) ?? .standardOutput
        } else {
            handle = .standardOutput
        }
        self.csv = csv
    }

    func header() throws { if csv { emit(Self.columns.joined(separator: ",")) } }

    func write(_ j: JobInfo) throws {
        let t = j.timings
        let row = Row(id: j.id, batch: j.batch, key: j.key, prompt: j.prompt, negativePrompt: j.negativePrompt, seed: j.seed, width: j.width,
                      height: j.height, steps: j.steps, guidance: j.guidance, state: j.state, attempts: j.attempts, path: j.path,
                      sha256: j.sha256, error: j.error, queueWaitMs: t.queueWaitMs, textMs: t.textMs, unetMs: t.unetMs,
                      decodeMs: t.decodeMs, pngMs: t.pngMs, totalMs: t.totalMs, node: Self.node(j))
        if !csv { return emit(String(decoding: try encoder.encode(row), as: UTF8.self)) }
        let values: [String] = [String(j.id), j.batch, j.key, j.prompt, j.negativePrompt ?? "", String(j.seed), j.width.map(String.init) ?? "",
                                j.height.map(String.init) ?? "", String(j.steps), String(j.guidance), j.state, String(j.attempts), j.path ?? "",
                                j.sha256 ?? "", j.error ?? ""] + [t.queueWaitMs, t.textMs, t.unetMs, t.decodeMs, t.pngMs, t.totalMs].map { $0.map { String(format: "%.3f", $0) } ?? "" }
            + [Self.node(j) ?? ""]
        emit(values.map(Self.quote).joined(separator: ","))
    }

    /// The node part of a worker id; nil for a job no worker has held.
    static func node(_ j: JobInfo) -> String? { j.workerId?.split(separator: ":").first.map(String.init) }

    private func emit(_ line: String) { handle.write(Data((line + "\n").utf8)) }

    func close() { if handle !== FileHandle.standardOutput { try? handle.close() } }

    static func quote(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
