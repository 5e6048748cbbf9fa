import Foundation

/// The durable job queue on SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE for every write, one connection
/// per process guarded by a lock). Several processes may open the same file; SQLite's locking and the
/// busy timeout serialise their writes.
public final class JobStore: JobQueue, @unchecked Sendable {
    /// Tunables; the defaults suit one daemon on one machine.
    public typealias Options = QueueOptions

    public let path: String
    /// The database file (the store's `location`).
    public var location: String { path }
    public let options: Options
    let db: SQLiteConnection
    private let lock = NSLock()
    /// Seconds since 1970; injectable so tests control time.
    let clock: @Sendable () -> Double

    public init(path: String, options: Options = Options(), clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.path = path
        self.options = options
        self.clock = clock
        db = try SQLiteConnection(path: path)
        db.setBusyTimeout(ms: 30_000)
        do {
            try db.exec("PRAGMA journal_mode = WAL")
            try db.exec("PRAGMA synchronous = FULL")
            try db.exec("PRAGMA foreign_keys = ON")
            // A 16 MiB page cache: bulk submits measured the same as with 64 MiB (1,000,000 prompts in 3.9 s either
            // way, `mdd bench-queue`), and the cache is resident memory that fills as the database grows — with 64 MiB
            // the soak's RSS rose ~0.3 MB per 1,000 jobs. Checkpointing every 10,000 WAL
            // pages (instead of 1,000) amortises the database fsync over many job transactions; the WAL file is
            // truncated back to 64 MiB after a checkpoint. (A background checkpointing connection was measured
            // slower here: its database fsyncs compete with the commits' WAL fsyncs on one disk.)
            try db.exec("PRAGMA cache_size = -16384")
            try db.exec("PRAGMA journal_size_limit = 67108864")
            try db.exec("PRAGMA wal_autocheckpoint = 10000")
            if options.verifyOnOpen { try verify() }
            try Schema.migrate(db)
            db.resetAll()
        } catch let QueueError.sqlite(code, message, _) {
            throw QueueError.unusableDatabase(path: path, reason: "not a usable mdd database (SQLite \(code): \(message)); move it aside or restore a backup")
        }
    }

    private func verify() throws {
        let s = try db.prepare("PRAGMA quick_check")
        try s.bind([])
        var problems: [String] = []
        while try s.step() { let t = s.text(0); if t != "ok" { problems.append(t) } }
        if !problems.isEmpty {
            throw QueueError.unusableDatabase(path: path, reason: "database is corrupt: \(problems.prefix(3).joined(separator: "; ")); move it aside or restore a backup")
        }
    }

    /// Checkpoints the WAL into the database file and closes it (a clean stop): the `.sqlite` file alone is
    /// then a complete copy of the queue. Any later call throws `QueueError.closed`.
    public func close() throws {
        try locked { try db.close() }
    }

    /// Runs `body` holding the process-wide lock (one statement stream per connection).
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer {
            db.resetAll()
            lock.unlock()
        }
        return try body()
    }

    /// Runs `body` in one BEGIN IMMEDIATE transaction under the lock.
    func write<T>(_ body: () throws -> T) throws -> T {
        try locked { try db.transaction(body) }
    }

    /// The schema version of the open database.
    public func schemaVersion() throws -> Int {
        try locked { Int(try db.scalarInt("PRAGMA user_version") ?? 0) }
    }

    // Columns read by `decodeJob`, in order.
    static let jobColumns = """
        j.id, b.name, j.key, j.prompt, j.negative_prompt, j.seed, j.width, j.height, j.steps, j.guidance, j.priority,
        j.state, j.attempts, j.max_attempts, j.rescues, j.worker_id, j.lease_expires_at, j.created_at, j.claimed_at,
        j.finished_at, j.error, j.output_path, j.output_sha256, j.queue_wait_ms, j.text_ms, j.unet_ms, j.decode_ms,
        j.png_ms, j.total_ms
        """

    /// The job in the current row. A state this version does not know (a newer mdd's database, a hand edit) is an
    /// error naming the job, not a silent `failed`.
    static func decodeJob(_ s: Statement, offset o: Int32 = 0) throws -> Job {
        guard let state = JobState(rawValue: s.text(o + 11)) else {
            throw QueueError.unknownState(jobId: s.int(o), state: s.text(o + 11))
        }
        var timings: JobTimings?
        if let total = s.optionalDouble(o + 28) {
            timings = JobTimings(textMs: s.double(o + 24), unetMs: s.double(o + 25), decodeMs: s.double(o + 26),
                                 pngMs: s.double(o + 27), totalMs: total)
        }
        return Job(
            id: s.int(o), batch: s.text(o + 1), key: s.text(o + 2), prompt: s.text(o + 3), negativePrompt: s.optionalText(o + 4),
            seed: s.int(o + 5), width: s.optionalInt(o + 6).map(Int.init), height: s.optionalInt(o + 7).map(Int.init),
            steps: Int(s.int(o + 8)), guidance: s.double(o + 9), priority: Int(s.int(o + 10)),
            state: state, attempts: Int(s.int(o + 12)), maxAttempts: Int(s.int(o + 13)),
            rescues: Int(s.int(o + 14)), workerId: s.optionalText(o + 15), leaseExpiresAt: s.optionalDouble(o + 16),
            createdAt: s.double(o + 17), claimedAt: s.optionalDouble(o + 18), finishedAt: s.optionalDouble(o + 19),
            error: s.optionalText(o + 20), outputPath: s.optionalText(o + 21), outputSHA256: s.optionalText(o + 22),
            queueWaitMs: s.optionalDouble(o + 23), timings: timings)
    }

    /// The batch id for a name, or `unknownBatch`.
    func batchId(_ name: String) throws -> Int64 {
        guard let id = try db.scalarInt("SELECT id FROM batches WHERE name = ?", [.text(name)]) else {
            throw QueueError.unknownBatch(name)
        }
        return id
    }
}
