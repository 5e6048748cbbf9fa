/// The job state machine's transitions written once for both stores (SQLite and PostgreSQL differ only in
/// placeholders, the clock expression and `max` vs `greatest`), so the two cannot drift apart.
enum QueueSQL {
    /// `cancel`: pending and running jobs become canceled; a running job's lease is dropped, fencing its worker out.
    static func cancelSet(now: String) -> String {
        "state = 'canceled', finished_at = \(now), lease_token = NULL, lease_expires_at = NULL, error = 'canceled'"
    }

    /// `retry`: back to pending with fresh attempts and rescues; the seed stays.
    static let retrySet = """
        state = 'pending', attempts = 0, rescues = 0, error = NULL, not_before = NULL,
               finished_at = NULL, claimed_at = NULL, worker_id = NULL
        """

    /// The states `retry` takes back.
    static func retryStates(includeCanceled: Bool) -> String { includeCanceled ? "('failed', 'canceled')" : "('failed')" }

    /// The rescue: back to pending with the attempt refunded and a rescue counted, or, when `poison` holds (the
    /// `maxRescues`-th rescue), failed as poison, keeping the attempt and the worker that held the job last.
    /// `greatest` is the two-argument maximum (`max` in SQLite, `greatest` in PostgreSQL).
    static func rescueSet(poison: String, now: String, greatest: String) -> String {
        """
        state = CASE WHEN \(poison) THEN 'failed' ELSE 'pending' END,
               error = CASE WHEN \(poison) THEN 'worker died ' || (rescues + 1) || ' times while rendering this job (poison job?)' ELSE error END,
               finished_at = CASE WHEN \(poison) THEN \(now) ELSE NULL END,
               attempts = CASE WHEN \(poison) THEN attempts ELSE \(greatest)(attempts - 1, 0) END,
               worker_id = CASE WHEN \(poison) THEN worker_id END, claimed_at = CASE WHEN \(poison) THEN claimed_at END,
               rescues = rescues + 1, lease_token = NULL, lease_expires_at = NULL
        """
    }

    /// Completes each result with `complete` (inside the caller's one transaction); the ids whose lease was lost
    /// are returned and their results discarded, the others commit.
    static func completeEach(_ results: [(Lease, JobOutput)], _ complete: (Lease, JobOutput) throws -> Void) throws -> [Int64] {
        var stale: [Int64] = []
        for (lease, output) in results {
            do { try complete(lease, output) } catch QueueError.staleLease(let id) { stale.append(id) }
        }
        return stale
    }
}

extension QueueSQL {
    /// The states `prune` may delete: settled jobs only, never pending or running ones.
    static let finishedStates = "('succeeded', 'failed', 'canceled')"

    /// Rows deleted per prune transaction.
    static let pruneChunk = 10_000

    /// The age bound of a prune, after checking that the filter names some jobs: a prune with neither a batch nor
    /// an age would empty the whole history, which no one asks for by leaving out both options.
    static func pruneAge(_ filter: PruneFilter) throws -> Double? {
        guard filter.batch != nil || filter.finishedBeforeSecondsAgo != nil else {
            throw QueueError.invalidPrune(reason: "name a batch, an age (finished before N seconds ago), or both")
        }
        if let age = filter.finishedBeforeSecondsAgo, !(age >= 0 && age.isFinite) {
            throw QueueError.invalidPrune(reason: "the age must be a finite number of seconds ≥ 0, got \(age)")
        }
        return filter.finishedBeforeSecondsAgo
    }
}
