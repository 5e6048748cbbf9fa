import Foundation

extension JobStore {
    /// Claims the best pending job (priority, then FIFO) whose batch is not paused, unless the queue is paused.
    /// One BEGIN IMMEDIATE transaction; the returned token fences every later transition of the job.
    public func claim(worker: String) throws -> Lease? {
        let lease = try write { try claimLocked(worker: worker, limit: 1).first }
        if lease != nil { KillPoint.reached("claim") }
        return lease
    }

    /// Claims up to `limit` jobs under one lease token (the one claim statement: single and batched claims).
    func claimLocked(worker: String, limit: Int) throws -> [Lease] {
        if try queuePausedLocked() { return [] }
        let now = clock(), token = Self.newToken()
        let s = try db.prepare("""
            UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = ?1, lease_expires_at = ?2,
                   worker_id = ?3, claimed_at = ?4, queue_wait_ms = (?4 - created_at) * 1000
            WHERE id IN (SELECT j.id FROM jobs j JOIN batches b ON b.id = j.batch_id
                         WHERE j.state = 'pending' AND b.paused = 0 AND (j.not_before IS NULL OR j.not_before <= ?4)
                         ORDER BY j.priority DESC, j.id LIMIT ?5)
            RETURNING id
            """)
        try s.bind([.text(token), .double(now + options.leaseSeconds), .text(worker), .double(now), .int(Int64(max(1, limit)))])
        var ids: [Int64] = []
        while try s.step() { ids.append(s.int(0)) }
        return try ids.sorted().map { id in
            guard let job = try jobLocked(id) else { throw QueueError.unknownJob(id) }
            return Lease(job: job, token: token)
        }
    }

    /// 128 random bits as hex. (Foundation's UUID() opens /dev/urandom on every call on Linux: one extra
    /// open/read/close per claim on the hot path.)
    static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return String(format: "%016llx%016llx", rng.next() as UInt64, rng.next() as UInt64)
    }

    /// Extends the lease of a job still held by `token`.
    public func heartbeat(_ lease: Lease) throws {
        try write {
            let n = try db.prepare("UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND state = 'running'")
                .run([.double(clock() + options.leaseSeconds), .int(lease.job.id), .text(lease.token)])
            if n != 1 { throw QueueError.staleLease(jobId: lease.job.id) }
        }
    }

    /// Marks the job succeeded with its output and timings; rejected unless `token` still holds it.
    public func complete(_ lease: Lease, output: JobOutput) throws {
        try write { try completeLocked(lease, output: output) }
        KillPoint.reached("complete")
    }

    /// Completes one job and claims the next in the same transaction (one fsync per job instead of two).
    public func complete(_ lease: Lease, output: JobOutput, thenClaimFor worker: String) throws -> Lease? {
        let next = try write {
            try completeLocked(lease, output: output)
            return try claimLocked(worker: worker, limit: 1).first
        }
        KillPoint.reached("complete")
        return next
    }

    func completeLocked(_ lease: Lease, output: JobOutput) throws {
        let t = output.timings
        let n = try db.prepare("""
            UPDATE jobs SET state = 'succeeded', finished_at = ?, output_path = ?, output_sha256 = ?, error = NULL,
                   text_ms = ?, unet_ms = ?, decode_ms = ?, png_ms = ?, total_ms = ?, lease_token = NULL, lease_expires_at = NULL
            WHERE id = ? AND lease_token = ? AND state = 'running'
            """).run([.double(clock()), .text(output.path), .text(output.sha256), .double(t.textMs), .double(t.unetMs),
                      .double(t.decodeMs), .double(t.pngMs), .double(t.totalMs), .int(lease.job.id), .text(lease.token)])
        if n != 1 { throw QueueError.staleLease(jobId: lease.job.id) }
    }

    /// Records a failure. Retryable failures go back to pending after a backoff until `max_attempts`;
    /// others (or the last attempt) fail the job. Returns the job's new state.
    @discardableResult
    public func fail(_ lease: Lease, error: String, retryable: Bool) throws -> JobState {
        try write {
            let now = clock()
            let j = lease.job
            let retry = retryable && j.attempts < j.maxAttempts
            let delay = options.backoff(afterAttempts: j.attempts)
            let n = try db.prepare("""
                UPDATE jobs SET state = ?, error = ?, not_before = ?, finished_at = ?, lease_token = NULL, lease_expires_at = NULL
                WHERE id = ? AND lease_token = ? AND state = 'running'
                """).run([.text(retry ? "pending" : "failed"), .text(error), retry ? .double(now + delay) : .null,
                          retry ? .null : .double(now), .int(j.id), .text(lease.token)])
            if n != 1 { throw QueueError.staleLease(jobId: j.id) }
            return retry ? .pending : .failed
        }
    }

    /// Returns a held job to pending without spending an attempt (graceful stop).
    public func release(_ lease: Lease) throws {
        try write {
            let n = try db.prepare("""
                UPDATE jobs SET state = 'pending', attempts = max(attempts - 1, 0), lease_token = NULL, lease_expires_at = NULL,
                       worker_id = NULL, claimed_at = NULL
                WHERE id = ? AND lease_token = ? AND state = 'running'
                """).run([.int(lease.job.id), .text(lease.token)])
            if n != 1 { throw QueueError.staleLease(jobId: lease.job.id) }
        }
    }

    /// Result of a recovery pass.
    public typealias Recovery = QueueRecovery

    /// Expired leases (their worker died) go back to pending with the attempt refunded and a rescue counted;
    /// a job rescued `maxRescues` times is failed as poison so that it cannot crash-loop the daemon.
    /// `all: true` treats every running lease as expired (start-up of the only daemon on this file).
    public func recoverExpiredLeases(all: Bool) throws -> Recovery {
        try write {
            let cutoff = all ? Double.greatestFiniteMagnitude : clock()
            return try rescueLocked(where: "state = 'running' AND lease_expires_at < ?3", [.double(cutoff)])
        }
    }

    /// The one rescue statement: running jobs matching `condition` (parameters from ?3) whose worker is gone go back
    /// to pending with the attempt refunded and a rescue counted, or, at the `maxRescues`-th rescue, fail as poison
    /// (keeping the attempt and the worker that held them last).
    func rescueLocked(where condition: String, _ args: [SQLValue]) throws -> Recovery {
        let s = try db.prepare("""
            UPDATE jobs SET \(QueueSQL.rescueSet(poison: "rescues + 1 >= ?2", now: "?1", greatest: "max"))
            WHERE \(condition)
            RETURNING state = 'failed'
            """)
        try s.bind([.double(clock()), .int(Int64(options.maxRescues))] + args)
        var r = Recovery()
        while try s.step() { if s.int(0) == 1 { r.poisoned += 1 } else { r.rescued += 1 } }
        return r
    }
}

extension JobStore {
    /// Takes back running jobs whose worker is known to be gone (e.g. this host's previous daemon process),
    /// without waiting for their leases to expire. Counts a rescue, like expiry does.
    public func recoverLeases(heldBy isDead: (String) -> Bool) throws -> Recovery {
        let held: [(Int64, String)] = try locked {
            let s = try db.prepare("SELECT id, worker_id FROM jobs WHERE state = 'running'")
            try s.bind([])
            var out: [(Int64, String)] = []
            while try s.step() { out.append((s.int(0), s.text(1))) }
            return out
        }
        let dead = held.filter { isDead($0.1) }
        return try write {
            var r = Recovery()
            for (id, worker) in dead {
                let one = try rescueLocked(where: "id = ?3 AND worker_id = ?4 AND state = 'running'", [.int(id), .text(worker)])
                r.rescued += one.rescued
                r.poisoned += one.poisoned
            }
            return r
        }
    }
}
