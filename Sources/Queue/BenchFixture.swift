import Foundation

/// Finished jobs inserted by one SQL statement per million rows, without going through submit, claim and
/// complete, so that `mdd bench-queue --finished-rows 10000000` can time `status` and `stats` on a queue of that
/// size in minutes rather than hours. The rows are well-formed succeeded jobs of their own batch, finished
/// `agoSeconds` before now (older than the recent stats windows, like a long-running fleet's history), and the
/// counters are kept exact. A benchmark fixture: never used on a production queue.
public protocol BenchFixture {
    /// Inserts `count` succeeded jobs into batch `batch` (created if absent), finished `agoSeconds` ago.
    func insertFinishedJobs(batch: String, count: Int, agoSeconds: Double) throws
}

/// Rows per statement (and transaction) of the fixtures.
private let fixtureChunk = 1_000_000

extension JobStore: BenchFixture {
    public func insertFinishedJobs(batch: String, count: Int, agoSeconds: Double) throws {
        try locked {
            try db.prepare("INSERT INTO batches (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run([.text(batch), .double(clock())])
            let batchId = try self.batchId(batch)
            var done = 0
            while done < count {
                let n = min(fixtureChunk, count - done), t = clock() - agoSeconds
                try db.exec("BEGIN IMMEDIATE")
                do {
                    try db.prepare("""
                        WITH RECURSIVE s(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM s WHERE i < ?3)
                        INSERT INTO jobs (batch_id, key, prompt, seed, steps, guidance, state, attempts, max_attempts, created_at,
                                          claimed_at, finished_at, worker_id, output_path, output_sha256, queue_wait_ms,
                                          text_ms, unet_ms, decode_ms, png_ms, total_ms)
                        SELECT ?1, 'f:' || i, 'finished prompt ' || i, i, 8, 7.5, 'succeeded', 1, 3, ?4 - 10, ?4 - 1, ?4, 'bench',
                               '/out/' || i || '.png', \(String(repeating: "f", count: 64).quoted), 9000, 5, 20, 10, 2, 37
                        FROM s
                        """).run([.int(batchId), .int(Int64(done + 1)), .int(Int64(done + n)), .double(t)])
                    try db.prepare("""
                        INSERT INTO batch_counts (batch_id, state, n) VALUES (?, 'succeeded', ?)
                        ON CONFLICT (batch_id, state) DO UPDATE SET n = n + excluded.n
                        """).run([.int(batchId), .int(Int64(n))])
                    try addFixtureLatency(batchId: batchId, n: n, t: t)
                    try db.exec("COMMIT")
                } catch {
                    try? db.exec("ROLLBACK")
                    throw error
                }
                done += n
            }
        }
    }
}

extension PostgresJobStore: BenchFixture {
    public func insertFinishedJobs(batch: String, count: Int, agoSeconds: Double) throws {
        try write {
            try db.query("INSERT INTO batches (name, created_at) VALUES ($1, \(Self.now)) ON CONFLICT (name) DO NOTHING", [batch])
        }
        let batchId = String(try locked { try self.batchId(batch) })
        var done = 0
        while done < count {
            let n = min(fixtureChunk, count - done)
            try write {
                try db.query("""
                    INSERT INTO jobs (batch_id, key, prompt, seed, steps, guidance, state, attempts, max_attempts, created_at,
                                      claimed_at, finished_at, worker_id, output_path, output_sha256, queue_wait_ms,
                                      text_ms, unet_ms, decode_ms, png_ms, total_ms)
                    SELECT $1::bigint, 'f:' || i, 'finished prompt ' || i, i, 8, 7.5, 'succeeded', 1, 3, t - 10, t - 1, t, 'bench',
                           '/out/' || i || '.png', repeat('f', 64), 9000, 5, 20, 10, 2, 37
                    FROM generate_series($2::bigint, $3::bigint) i, (SELECT \(Self.now) - $4::float8 AS t) c
                    """, [batchId, String(done + 1), String(done + n), String(agoSeconds)])
                // INSERT has no latency trigger (only bulk submit inserts, and never a succeeded job): append the
                // chunk's histogram change as the UPDATE trigger would.
                try db.query("""
                    WITH t AS (
                        INSERT INTO latency_total_deltas
                        SELECT $1::bigint, $2::bigint, \(fixtureTimings.map { "\($0) * $2::float8" }.joined(separator: ", ")),
                               $2::bigint, \(Self.now) - $3::float8 - 1, \(Self.now) - $3::float8
                    )
                    INSERT INTO latency_bucket_deltas (batch_id, stage, bucket, n)
                    SELECT $1::bigint, s.stage, \(LatencyHistogram.bucketSQL("s.ms", max: "greatest"))::integer, $2::bigint
                    FROM (VALUES \(fixtureTimings.enumerated().map { "(\($0.offset), \($0.element).0)" }.joined(separator: ", "))) s(stage, ms)
                    """, [batchId, String(n), String(agoSeconds)])
            }
            done += n
        }
        try locked { try db.query("ANALYZE jobs") }
    }
}

/// The fixture's latencies (queue wait, text, UNet, decode, PNG, total, in ms), as its INSERTs write them.
private let fixtureTimings = [9000, 5, 20, 10, 2, 37]

private extension JobStore {
    /// Adds `n` fixture jobs of batch `batchId`, claimed at `t - 1` and finished at `t`, to the latency histograms
    /// as the v4 trigger would one by one (INSERT has no latency trigger: no other path inserts a succeeded job).
    func addFixtureLatency(batchId: Int64, n: Int, t: Double) throws {
        let cols = LatencyHistogram.columns
        try db.prepare("""
            INSERT INTO latency_totals VALUES (?1, ?2, \(fixtureTimings.map { "\($0) * ?2" }.joined(separator: ", ")), ?2, ?3 - 1, ?3)
            ON CONFLICT (batch_id) DO UPDATE SET n = n + excluded.n,
                \(cols.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")),
                completed_ever = completed_ever + excluded.completed_ever,
                first_claimed = coalesce(min(first_claimed, excluded.first_claimed), first_claimed, excluded.first_claimed),
                last_finished = coalesce(max(last_finished, excluded.last_finished), last_finished, excluded.last_finished)
            """).run([.int(batchId), .int(Int64(n)), .double(t)])
        try db.prepare("""
            INSERT INTO latency_buckets (batch_id, stage, bucket, n)
            SELECT ?1, stage, CAST(\(LatencyHistogram.bucketSQL("ms", max: "max")) AS INTEGER), ?2
            FROM (\(fixtureTimings.enumerated().map { "SELECT \($0.offset) AS stage, \($0.element).0 AS ms" }.joined(separator: " UNION ALL "))) WHERE true
            ON CONFLICT (batch_id, stage, bucket) DO UPDATE SET n = n + excluded.n
            """).run([.int(batchId), .int(Int64(n))])
    }
}

private extension String {
    /// An SQL string literal (the fixture's constants only).
    var quoted: String { "'" + replacingOccurrences(of: "'", with: "''") + "'" }
}
