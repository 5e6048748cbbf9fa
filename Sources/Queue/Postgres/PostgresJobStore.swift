import Foundation

/// The job queue on PostgreSQL, for a fleet of daemons sharing one database (`mdd serve --queue postgresql://…`).
///
/// Same contract as the SQLite `JobStore` (see `JobQueue`), with cluster semantics: claims take rows
/// `FOR UPDATE SKIP LOCKED`, so concurrent claimers on many hosts never wait on or share a job; leases, deadlines
/// and backoff use the database's clock (`now()`), never a host's; every transition is fenced on the lease token,
/// so a node that was cut off cannot settle a job it no longer holds.
///
/// Two connections, each guarded by its own lock (libpq's calls block, which suits the callers' own threads):
/// - `db`, the work connection: every write — claims, heartbeats, completions, failures, submits, control
///   changes, node reports, recovery. Writes are serialised on it as before, so the write paths keep their one
///   statement stream and their transactions.
/// - `control`, the control connection: the control plane's reads — `status`, `stats`, `list`/`export`, `job`,
///   `nodes`, `isPaused`. A write can wait on the server for a long time (a row lock held by another node or by an
///   operator's transaction, a hung network); under one lock, `mdctl status` waited behind it (~10 s seen). Reads
///   never wait on row locks under MVCC, so on a connection of their own they answer while a write is stuck.
///   (`status` also folds the count changes there; the fold only tries its advisory lock and writes rows no other
///   statement writes, so it never waits on a worker's locks either.)
/// Not a pool: the daemon has one writer stream by design (the SQLite store has one writer connection too) and
/// one reader stream is enough for a control socket whose requests are small; two store connections per node
/// (besides its LISTEN connection and, now and then, a vacuum's: `ClaimVacuum`) keep a fleet's connection count
/// predictable (`max_connections`). Both share one `ReconnectBackoff` (one server, one
/// outage, reported once) and a `statement_timeout` (`QueueOptions.statementTimeoutSeconds`), so no statement
/// hangs forever on either.
public final class PostgresJobStore: JobQueue, @unchecked Sendable {
    /// The URL without a password.
    public let location: String
    public let options: QueueOptions
    /// The work connection (every write); guarded by `lock`.
    let db: PGConnection
    /// The control connection (the control plane's reads); guarded by `controlLock`.
    let control: PGConnection
    private let lock = NSLock()
    private let controlLock = NSLock()
    /// Counts claims and vacuums `jobs` now and then (see `ClaimVacuum`).
    let vacuum = ClaimVacuum()

    /// The database clock in epoch seconds, the time base of every stored timestamp.
    static let now = "extract(epoch from now())::float8"

    /// Connects to `url` (`postgresql://USER@HOST:PORT/DBNAME`, or with `?host=/socket/dir`) and creates or migrates
    /// the schema. A password in the URL is refused: it would show in `ps` and in logs; libpq reads `PGPASSWORD`
    /// or `~/.pgpass` instead.
    public init(url: String, options: QueueOptions = QueueOptions()) throws {
        try Self.refusePassword(in: url)
        location = url
        self.options = options
        db = try PGConnection(conninfo: url, location: url)
        // Migrations run before the timeout is set: an index built over millions of rows may take minutes.
        try PostgresSchema.migrate(db)
        try db.limitStatements(to: options.statementTimeoutSeconds)
        control = try PGConnection(conninfo: url, location: url, backoff: db.backoff)
        try control.limitStatements(to: options.statementTimeoutSeconds)
    }

    /// Throws unless `url` is a postgres URL without a password.
    public static func refusePassword(in url: String) throws {
        guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
            throw QueueError.unusableDatabase(path: url, reason: "not a PostgreSQL URL (postgresql://USER@HOST:PORT/DBNAME)")
        }
        let authority = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(2).first ?? ""
        if let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") {
            throw QueueError.unusableDatabase(path: "postgresql://…", reason: "the URL holds a password; put it in PGPASSWORD or ~/.pgpass (mode 0600) instead")
        }
        if url.contains("password=") {
            throw QueueError.unusableDatabase(path: "postgresql://…", reason: "the URL holds a password parameter; put it in PGPASSWORD or ~/.pgpass (mode 0600) instead")
        }
    }

    /// The schema version of the database.
    public func schemaVersion() throws -> Int { try reading { try PostgresSchema.currentVersion($0) } }

    /// Closes both connections; later calls throw `QueueError.closed`. (Waits for a statement in flight on either.)
    public func close() throws {
        locked { db.close() }
        controlLock.withLock { control.close() }
    }

    /// A PostgreSQL queue is backed up with the server's tools, not by one daemon.
    public func backup(to path: String) throws -> Int {
        throw QueueError.backup(path: path, reason: "the queue is in PostgreSQL (\(location)); back it up with pg_dump or the server's base backups")
    }

    /// Runs `body` with the control connection, under its lock: reads for the control plane, never blocked by a
    /// write waiting on the server.
    func reading<T>(_ body: (PGConnection) throws -> T) rethrows -> T {
        controlLock.lock()
        defer { controlLock.unlock() }
        return try body(control)
    }

    /// Runs `body` holding the work connection's lock (one statement stream for every write).
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Runs `body` in one transaction under the lock.
    func write<T>(_ body: () throws -> T) throws -> T {
        try locked { try db.transaction(body) }
    }

    /// The batch id for a name, or `unknownBatch` (on the work connection unless told otherwise).
    func batchId(_ name: String) throws -> Int64 { try batchId(name, on: db) }

    func batchId(_ name: String, on c: PGConnection) throws -> Int64 {
        guard let id = try c.query("SELECT id FROM batches WHERE name = $1", [name]).scalar.flatMap({ Int64($0) }) else {
            throw QueueError.unknownBatch(name)
        }
        return id
    }

    /// The job in a row selected with `JobStore.jobColumns`. An unknown state is an error naming the job.
    static func decodeJob(_ values: [String?]) throws -> Job {
        let r = PGRow(values: values)
        guard let state = JobState(rawValue: r.text(11)) else { throw QueueError.unknownState(jobId: r.int(0), state: r.text(11)) }
        var timings: JobTimings?
        if let total = r.optionalDouble(28) {
            timings = JobTimings(textMs: r.double(24), unetMs: r.double(25), decodeMs: r.double(26), pngMs: r.double(27), totalMs: total)
        }
        return Job(
            id: r.int(0), batch: r.text(1), key: r.text(2), prompt: r.text(3), negativePrompt: r.optionalText(4),
            seed: r.int(5), width: r.optionalInt(6).map(Int.init), height: r.optionalInt(7).map(Int.init),
            steps: Int(r.int(8)), guidance: r.double(9), priority: Int(r.int(10)),
            state: state, attempts: Int(r.int(12)), maxAttempts: Int(r.int(13)),
            rescues: Int(r.int(14)), workerId: r.optionalText(15), leaseExpiresAt: r.optionalDouble(16),
            createdAt: r.double(17), claimedAt: r.optionalDouble(18), finishedAt: r.optionalDouble(19),
            error: r.optionalText(20), outputPath: r.optionalText(21), outputSHA256: r.optionalText(22),
            queueWaitMs: r.optionalDouble(23), timings: timings)
    }

    /// Jobs by id, in id order.
    static func jobs(on c: PGConnection, where condition: String, _ params: [String?], limit: Int? = nil) throws -> [Job] {
        let tail = limit.map { " LIMIT \($0)" } ?? ""
        return try c.query("SELECT \(JobStore.jobColumns) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE \(condition) ORDER BY j.id\(tail)", params)
            .rows.map(Self.decodeJob)
    }
}

extension PostgresJobStore: RemoteQueue {
    public var connectivity: QueueConnectivity { db.backoff.connectivity }

    public func onConnectivityChange(_ handler: @escaping @Sendable (QueueConnectivity) -> Void) { db.backoff.onChange(handler) }
}
