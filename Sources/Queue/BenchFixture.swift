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
            }
            done += n
        }
        try locked { try db.query("ANALYZE jobs") }
    }
}

private extension String {
    /// An SQL string literal (the fixture's constants only).
    var quoted: String { "'" + replacingOccurrences(of: "'", with: "''") + "'" }
}
