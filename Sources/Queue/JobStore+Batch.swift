import Foundation

/// Batched claiming and completion, the way River and Oban fetch and acknowledge jobs: one transaction (and one
/// fsync) for many jobs. Safe with the output protocol: a PNG that is durable before its completion commits is
/// reused if the job runs again after a crash.
extension JobStore {
    /// Claims up to `limit` pending jobs in one transaction (priority, then FIFO), each fenced by the lease token.
    public func claim(worker: String, limit: Int) throws -> [Lease] {
        try write {
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
    }

    /// Completes many jobs in one transaction. Each is fenced on its own lease; the ids whose lease was lost
    /// (canceled, expired and recovered) are returned and their results discarded, the others commit.
    @discardableResult
    public func complete(_ results: [(Lease, JobOutput)]) throws -> [Int64] {
        try write {
            var stale: [Int64] = []
            for (lease, output) in results {
                do { try completeLocked(lease, output: output) } catch QueueError.staleLease(let id) { stale.append(id) }
            }
            return stale
        }
    }
}
