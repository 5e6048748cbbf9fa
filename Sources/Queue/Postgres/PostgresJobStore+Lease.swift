import Foundation

extension PostgresJobStore: LeaseTransactions {
    public func claim(worker: String) throws -> Lease? { try claimOne(worker: worker) }

    public func claim(worker: String, limit: Int) throws -> [Lease] {
        try write { try claimLocked(worker: worker, limit: limit) }
    }

    /// The one claim statement: the best pending jobs of unpaused batches, taken `FOR UPDATE SKIP LOCKED` so that
    /// concurrent claimers skip each other's rows instead of waiting, all under one fresh lease token. The paused
    /// batches are an anti-join rather than a join, so that the plan walks the `jobs_claim` index in order and
    /// stops after `limit` rows (a join made it hash every pending job and sort them: ~1 ms a claim at 100,000).
    func claimLocked(worker: String, limit: Int) throws -> [Lease] {
        let now = Self.now, token = JobStore.newToken()
        let rows = try db.query("""
            WITH picked AS (
                SELECT j.id FROM jobs j
                WHERE j.state = 'pending' AND (j.not_before IS NULL OR j.not_before <= \(now))
                  AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = j.batch_id AND b.paused)
                  AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'paused' AND value = '1')
                ORDER BY j.priority DESC, j.id LIMIT $4::integer
                FOR UPDATE OF j SKIP LOCKED),
            claimed AS (
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = $1, lease_expires_at = \(now) + $2::float8,
                       worker_id = $3, claimed_at = \(now), queue_wait_ms = (\(now) - created_at) * 1000
                FROM picked WHERE jobs.id = picked.id
                RETURNING jobs.*)
            SELECT \(JobStore.jobColumns) FROM claimed j JOIN batches b ON b.id = j.batch_id ORDER BY j.id
            """, [token, String(options.leaseSeconds), worker, String(max(1, limit))])
        return try rows.rows.map { Lease(job: try Self.decodeJob($0), token: token) }
    }

    public func heartbeat(_ lease: Lease) throws {
        try write {
            try fenced(lease, "UPDATE jobs SET lease_expires_at = \(Self.now) + $3::float8", [String(options.leaseSeconds)])
        }
    }

    /// Runs `update` (its SET part; parameters from $3) on the job only while `lease` holds it, else `staleLease`.
    private func fenced(_ lease: Lease, _ update: String, _ params: [String?]) throws {
        let n = try db.query("\(update) WHERE id = $1::bigint AND lease_token = $2 AND state = 'running'",
                             [String(lease.job.id), lease.token] + params).affected
        if n != 1 { throw QueueError.staleLease(jobId: lease.job.id) }
    }

    public func complete(_ lease: Lease, output: JobOutput) throws {
        _ = try completeThenClaim(lease, output: output, worker: nil)
    }

    public func complete(_ lease: Lease, output: JobOutput, thenClaimFor worker: String) throws -> Lease? {
        try completeThenClaim(lease, output: output, worker: worker)
    }

    @discardableResult
    public func complete(_ results: [(Lease, JobOutput)]) throws -> [Int64] {
        try write {
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
        let done = try db.query("""
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

    func completeLocked(_ lease: Lease, output: JobOutput) throws {
        let t = output.timings
        try fenced(lease, """
            UPDATE jobs SET state = 'succeeded', finished_at = \(Self.now), output_path = $3, output_sha256 = $4, error = NULL,
                   text_ms = $5::float8, unet_ms = $6::float8, decode_ms = $7::float8, png_ms = $8::float8, total_ms = $9::float8,
                   lease_token = NULL, lease_expires_at = NULL
            """, [output.path, output.sha256] + [t.textMs, t.unetMs, t.decodeMs, t.pngMs, t.totalMs].map { String($0) })
    }

    @discardableResult
    public func fail(_ lease: Lease, error: String, retryable: Bool) throws -> JobState {
        let j = lease.job
        let retry = retryable && j.attempts < j.maxAttempts
        try write {
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
        try write {
            try fenced(lease, """
                UPDATE jobs SET state = 'pending', attempts = greatest(attempts - 1, 0), lease_token = NULL,
                       lease_expires_at = NULL, worker_id = NULL, claimed_at = NULL
                """, [])
        }
    }
}
