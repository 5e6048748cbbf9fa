import Foundation

/// Batched claiming and completion, the way River and Oban fetch and acknowledge jobs: one transaction (and one
/// fsync) for many jobs. Safe with the output protocol: a PNG that is durable before its completion commits is
/// reused if the job runs again after a crash.
extension JobStore {
    /// Claims up to `limit` pending jobs in one transaction (priority, then FIFO), each fenced by the lease token.
    public func claim(worker: String, limit: Int) throws -> [Lease] {
        try write { try claimLocked(worker: worker, limit: limit) }
    }

    /// Completes many jobs in one transaction. Each is fenced on its own lease; the ids whose lease was lost
    /// (canceled, expired and recovered) are returned and their results discarded, the others commit.
    @discardableResult
    public func complete(_ results: [(Lease, JobOutput)]) throws -> [Int64] {
        try write { try QueueSQL.completeEach(results) { try completeLocked($0, output: $1) } }
    }
}
