import Foundation

extension PostgresJobStore {
    // Round trips: every claim and completion below is one statement sent as a transaction of its own (autocommit),
    // one round trip, where BEGIN, statement, COMMIT took three; on 2 vCPUs with 4 workers the backends spent most
    // of their time "idle in transaction", waiting for the client's next statement. A statement is atomic, so the
    // guarantees are those of the transactions it replaces.

    public func claim(worker: String) throws -> Lease? {
        let lease = try locked { try claimLocked(worker: worker, limit: 1).first }
        if lease != nil { KillPoint.reached("claim") }
        noteClaimed(lease == nil ? 0 : 1)
        return lease
    }

    public func claim(worker: String, limit: Int) throws -> [Lease] {
        let leases = try locked { try claimLocked(worker: worker, limit: limit) }
        noteClaimed(leases.count)
        return leases
    }

    /// The claim's CTEs `picked` and `claimed` (RETURNING jobs.*): the best pending jobs of unpaused batches, taken
    /// `FOR UPDATE SKIP LOCKED` so that concurrent claimers skip each other's rows instead of waiting, all under one
    /// fresh lease token. The paused batches are an anti-join rather than a join, so that the plan walks the
    /// `jobs_claim` index in order and stops after `limit` rows (a join made it hash every pending job and sort them:
    /// ~1 ms a claim at 100,000). Parameters: token, lease seconds, worker as `$p`…`$p+2`; the limit is written into
    /// the text, so that a prepared statement's generic plan still knows it (and walks the index); `gate` is a
    /// further condition (a completion that must have happened first).
    static func claimCTEs(from p: Int, limit: Int, gate: String = "") -> String {
        let now = Self.now
        return """
            picked AS (
                SELECT j.id FROM jobs j
                WHERE j.state = 'pending' AND (j.not_before IS NULL OR j.not_before <= \(now))
                  AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = j.batch_id AND b.paused)
                  AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'paused' AND value = '1')\(gate)
                ORDER BY j.priority DESC, j.id LIMIT \(max(1, limit))
                FOR UPDATE OF j SKIP LOCKED),
            claimed AS (
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = $\(p), lease_expires_at = \(now) + $\(p + 1)::float8,
                       worker_id = $\(p + 2), claimed_at = \(now), queue_wait_ms = (\(now) - created_at) * 1000
                FROM picked WHERE jobs.id = picked.id
                RETURNING jobs.*)
            """
    }

    /// The one claim statement (see `claimCTEs`), in the caller's transaction or as one of its own.
    func claimLocked(worker: String, limit: Int) throws -> [Lease] {
        let token = JobStore.newToken()
        let rows = try db.autocommit("""
            WITH \(Self.claimCTEs(from: 1, limit: limit))
            SELECT \(JobStore.jobColumns) FROM claimed j JOIN batches b ON b.id = j.batch_id ORDER BY j.id
            """, [token, String(options.leaseSeconds), worker])
        return try rows.rows.map { Lease(job: try Self.decodeJob($0), token: token) }
    }

    public func heartbeat(_ lease: Lease) throws {
        try locked {
            try fenced(lease, "UPDATE jobs SET lease_expires_at = \(Self.now) + $3::float8", [String(options.leaseSeconds)])
        }
    }

    /// Runs `update` (its SET part; parameters from $3) on the job only while `lease` holds it, else `staleLease`.
    private func fenced(_ lease: Lease, _ update: String, _ params: [String?]) throws {
        let n = try db.autocommit("\(update) WHERE id = $1::bigint AND lease_token = $2 AND state = 'running'",
                                  [String(lease.job.id), lease.token] + params).affected
        if n != 1 { throw QueueError.staleLease(jobId: lease.job.id) }
    }

    public func complete(_ lease: Lease, output: JobOutput) throws {
        try locked { try completeLocked(lease, output: output) }
        KillPoint.reached("complete")
    }

    /// The worker's path in one statement: the completion (fenced on the token) and, only if it happened, the next
    /// claim, as data-modifying CTEs of one statement, one transaction and one round trip (four before: BEGIN,
    /// UPDATE, claim, COMMIT). A lost lease changes nothing and throws `staleLease`, as before.
    public func complete(_ lease: Lease, output: JobOutput, thenClaimFor worker: String) throws -> Lease? {
        let token = JobStore.newToken(), t = output.timings
        let rows = try locked {
            try db.autocommit("""
                WITH done AS (
                    \(Self.completeSQL) WHERE id = $1::bigint AND lease_token = $2 AND state = 'running' RETURNING id),
                \(Self.claimCTEs(from: 10, limit: 1, gate: "\n  AND EXISTS (SELECT 1 FROM done)"))
                SELECT d.n, \(JobStore.jobColumns)
                FROM (SELECT count(*) AS n FROM done) d
                LEFT JOIN (claimed j JOIN batches b ON b.id = j.batch_id) ON true
                """, [String(lease.job.id), lease.token, output.path, output.sha256]
                    + [t.textMs, t.unetMs, t.decodeMs, t.pngMs, t.totalMs].map { String($0) }
                    + [token, String(options.leaseSeconds), worker]).rows
        }
        guard let first = rows.first, first.first == "1" else { throw QueueError.staleLease(jobId: lease.job.id) }
        KillPoint.reached("complete")
        let next = try first[1] == nil ? nil : Lease(job: Self.decodeJob(Array(first.dropFirst())), token: token)
        noteClaimed(next == nil ? 0 : 1)
        return next
    }

    @discardableResult
    public func complete(_ results: [(Lease, JobOutput)]) throws -> [Int64] {
        // Up to 1,000 results are one statement, so their own transaction; more take one around the statements.
        if results.count <= 1000 { return try locked { try completeBatchLocked(results[...]) } }
        return try write {
            // One statement per 1,000 results (9 parameters each, below PostgreSQL's 65,535): one round trip
            // instead of one per job, which dominated on loopback.
            try stride(from: 0, to: results.count, by: 1000).flatMap { start in
                try completeBatchLocked(results[start..<min(results.count, start + 1000)])
            }
        }
    }

    /// Completes the jobs still held by their tokens in one UPDATE … FROM (VALUES …); returns the ids that were not
    /// (their lease was lost), in the order given.
    private func completeBatchLocked(_ results: ArraySlice<(Lease, JobOutput)>) throws -> [Int64] {
        var params: [String?] = [], tuples: [String] = []
        for (i, (lease, out)) in results.enumerated() {
            let p = i * 9, t = out.timings
            tuples.append("($\(p + 1)::bigint, $\(p + 2), $\(p + 3), $\(p + 4), $\(p + 5)::float8, $\(p + 6)::float8, "
                          + "$\(p + 7)::float8, $\(p + 8)::float8, $\(p + 9)::float8)")
            params += [String(lease.job.id), lease.token, out.path, out.sha256] + [t.textMs, t.unetMs, t.decodeMs, t.pngMs, t.totalMs].map { String($0) }
        }
        let done = try db.autocommit("""
            UPDATE jobs SET state = 'succeeded', finished_at = \(Self.now), output_path = v.path, output_sha256 = v.sha, error = NULL,
                   text_ms = v.t, unet_ms = v.u, decode_ms = v.d, png_ms = v.p, total_ms = v.total,
                   lease_token = NULL, lease_expires_at = NULL
            FROM (VALUES \(tuples.joined(separator: ", "))) AS v(id, token, path, sha, t, u, d, p, total)
            WHERE jobs.id = v.id AND jobs.lease_token = v.token AND jobs.state = 'running'
            RETURNING jobs.id
            """, params).rows.compactMap { $0.first.flatMap { $0 }.flatMap { Int64($0) } }
        let settled = Set(done)
        return results.map(\.0.job.id).filter { !settled.contains($0) }
    }

    /// The SET part of a completion; parameters $3 (path) to $9 (total ms).
    static let completeSQL = """
        UPDATE jobs SET state = 'succeeded', finished_at = \(now), output_path = $3, output_sha256 = $4, error = NULL,
               text_ms = $5::float8, unet_ms = $6::float8, decode_ms = $7::float8, png_ms = $8::float8, total_ms = $9::float8,
               lease_token = NULL, lease_expires_at = NULL
        """

    func completeLocked(_ lease: Lease, output: JobOutput) throws {
        let t = output.timings
        try fenced(lease, Self.completeSQL, [output.path, output.sha256] + [t.textMs, t.unetMs, t.decodeMs, t.pngMs, t.totalMs].map { String($0) })
    }

    @discardableResult
    public func fail(_ lease: Lease, error: String, retryable: Bool) throws -> JobState {
        let j = lease.job
        let retry = retryable && j.attempts < j.maxAttempts
        try locked {
            try fenced(lease, """
                UPDATE jobs SET state = $3, error = $4,
                       not_before = CASE WHEN $3 = 'pending' THEN \(Self.now) + $5::float8 END,
                       finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE \(Self.now) END,
                       lease_token = NULL, lease_expires_at = NULL
                """, [retry ? "pending" : "failed", error, String(options.backoff(afterAttempts: j.attempts))])
        }
        return retry ? .pending : .failed
    }

    public func release(_ lease: Lease) throws {
        try locked {
            try fenced(lease, """
                UPDATE jobs SET state = 'pending', attempts = greatest(attempts - 1, 0), lease_token = NULL,
                       lease_expires_at = NULL, worker_id = NULL, claimed_at = NULL
                """, [])
        }
    }
}
