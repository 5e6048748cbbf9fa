import ArgumentParser
import Foundation
import Queue

/// `mdd bench-queue`: bulk submit and claim+complete throughput of the SQLite queue (synchronous=FULL), or of the
/// queue `--queue` names.
struct BenchQueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-queue", abstract: "Benchmark the job queue.")

    @Option(help: "Prompts to submit in one bulk submit.") var jobs = 1_000_000
    @Option(help: "Jobs to claim and complete afterwards.") var claims = 20_000
    @Option(help: "Database path (default: a temporary file, removed afterwards).") var db: String?
    @Option(help: "Benchmark this queue instead: sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME (an empty database).") var queue: String?
    @Option(help: "Jobs per transaction in the batched claim + complete measure.") var batch = 32
    @Option(help: "Then add this many finished jobs (inserted by SQL, see BenchFixture) and time status and stats.") var finishedRows = 0
    @Option(help: "Then run complete + next claim (one job per transaction) on this many connections at once, each its own store and thread, and report the aggregate rate (1: skip).") var connections = 1
    @Flag(help: "Print one JSON document.") var json = false

    struct Report: Encodable {
        var jobs: Int, submitSeconds: Double, submitJobsPerSecond: Double
        var claims: Int, claimCompleteSeconds: Double, claimCompleteJobsPerSecond: Double
        var separateTransactionsJobsPerSecond: Double
        var batchedJobsPerSecond: Double, batchSize: Int
        /// Aggregate complete + next-claim rate over `connections` concurrent connections (nil with one).
        var connections = 1, concurrentJobsPerSecond: Double?
        var databaseBytes: Int, bytesPerMillionJobs: Double
        var finishedRows = 0, fixtureSeconds: Double?
        /// Medians over repeated calls, in milliseconds; `statsAllMs` (every finished row read) is one call.
        var statusMs: Double?, statsRecentMs: Double?, statsAllMs: Double?
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if db == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let path = db ?? dir + "/queue.sqlite"
        let open = { () throws -> any JobQueue in
            try queue.map { try QueueSetting.parse($0, stateDir: dir).open(options: QueueOptions(), passfile: nil) } ?? JobStore(path: path)
        }
        let store = try open()
        let specs = (0..<jobs).map { JobSpec(prompt: "a red circle to the left of a blue square, variation \($0)") }

        var t = Date()
        _ = try store.submit(batch: BatchSpec(name: "bench", baseSeed: 1), jobs: specs)
        let submitSeconds = Date().timeIntervalSince(t)

        let output = { @Sendable (id: Int64) in JobOutput(path: "/out/bench/\(id).png", sha256: String(repeating: "f", count: 64),
                                                timings: JobTimings(textMs: 5, unetMs: 20, decodeMs: 10, pngMs: 2, totalMs: 37)) }
        // The worker's path: complete and claim the next job in one transaction (one fsync per job).
        t = Date()
        var lease = try store.claim(worker: "bench")
        var done = 0
        while let l = lease, done < claims {
            lease = try store.complete(l, output: output(l.job.id), thenClaimFor: "bench")
            done += 1
        }
        if let l = lease { try store.release(l) }
        let combined = Date().timeIntervalSince(t)
        // Separate claim and complete transactions (two fsyncs per job), for comparison.
        let separate = min(claims, 5000)
        t = Date()
        for _ in 0..<separate {
            guard let l = try store.claim(worker: "bench2") else { break }
            try store.complete(l, output: output(l.job.id))
        }
        let separateSeconds = Date().timeIntervalSince(t)

        // Batched: claim and complete `batch` jobs per transaction (what a worker with a prefetch and a completer does).
        var batchedDone = 0
        t = Date()
        while batchedDone < claims {
            let leases = try store.claim(worker: "bench3", limit: batch)
            if leases.isEmpty { break }
            try store.complete(leases.map { ($0, output($0.job.id)) })
            batchedDone += leases.count
        }
        let batchedSeconds = Date().timeIntervalSince(t)
        var r = Report(jobs: jobs, submitSeconds: submitSeconds, submitJobsPerSecond: Double(jobs) / submitSeconds,
                       claims: done, claimCompleteSeconds: combined, claimCompleteJobsPerSecond: Double(done) / combined,
                       separateTransactionsJobsPerSecond: Double(separate) / separateSeconds,
                       batchedJobsPerSecond: Double(batchedDone) / batchedSeconds, batchSize: batch, databaseBytes: 0, bytesPerMillionJobs: 0)
        if connections > 1 {
            r.connections = connections
            r.concurrentJobsPerSecond = try measureConcurrent(count: claims, open: open, output: output).jobsPerSecond
        }
        if finishedRows > 0 { try measureReads(store, into: &r) }
        let size = ["", "-wal", "-shm"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int }.reduce(0, +)
        r.databaseBytes = size
        r.bytesPerMillionJobs = Double(size) / Double(max(jobs + finishedRows, 1)) * 1e6
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            print(String(format: "submit: %d prompts in %.2f s (%.0f/s)", jobs, submitSeconds, r.submitJobsPerSecond))
            print(String(format: "claim+complete (one transaction per job): %d jobs in %.2f s (%.0f jobs/s)", done, combined, r.claimCompleteJobsPerSecond))
            print(String(format: "claim, then complete (two transactions): %.0f jobs/s", r.separateTransactionsJobsPerSecond))
            print(String(format: "batched claim + batched complete (%d jobs per transaction): %.0f jobs/s", batch, r.batchedJobsPerSecond))
            if let c = r.concurrentJobsPerSecond {
                print(String(format: "claim+complete (one transaction per job) on %d connections at once: %.0f jobs/s in all", connections, c))
            }
            if let f = r.fixtureSeconds, let st = r.statusMs, let recent = r.statsRecentMs, let all = r.statsAllMs {
                print(String(format: "%d finished rows added in %.1f s; then status %.2f ms, stats (1m, 5m windows) %.2f ms, stats with the all-time window %.0f ms",
                             r.finishedRows, f, st, recent, all))
            }
            print(String(format: "database: %.1f MB (%.0f MB per million jobs), synchronous=FULL, WAL", Double(size) / 1e6, r.bytesPerMillionJobs / 1e6))
        }
    }

    /// Adds `finishedRows` finished jobs, then times `status` and `stats` (what `mdctl status` and `mdctl stats` ask).
    private func measureReads(_ store: any JobQueue, into r: inout Report) throws {
        guard let fixture = store as? any BenchFixture else { throw ValidationError("this queue cannot take benchmark rows") }
        var t = Date()
        try fixture.insertFinishedJobs(batch: "bench-finished", count: finishedRows, agoSeconds: 86_400)
        r.finishedRows = finishedRows
        r.fixtureSeconds = Date().timeIntervalSince(t)
        _ = try store.status()  // the first call folds whatever count changes are pending (PostgreSQL)
        func median(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
            var ms: [Double] = []
            for _ in 0..<runs {
                let start = Date()
                try body()
                ms.append(Date().timeIntervalSince(start) * 1000)
            }
            return ms.sorted()[runs / 2]
        }
        r.statusMs = try median(21) { _ = try store.status() }
        r.statsRecentMs = try median(21) { _ = try store.stats(batch: nil, recentOnly: true) }
        t = Date()
        _ = try store.stats(batch: nil, recentOnly: false)
        r.statsAllMs = Date().timeIntervalSince(t) * 1000
    }
}
