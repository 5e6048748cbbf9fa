/// What a store implements under its own lock and transaction, so that the lease wrappers of `JobQueue` built on
/// them — claim one job, complete, complete then claim — and their kill points are written once. The SQLite store's;
/// PostgreSQL's sends each of these as one statement of its own instead (one round trip: PostgresJobStore+Lease).
protocol LeaseTransactions: JobQueue {
    /// Runs `body` in one write transaction under the store's lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's BEGIN).
    func write<T>(_ body: () throws -> T) throws -> T
    /// The store's one claim statement: up to `limit` jobs under one fresh lease token. Inside `write`.
    func claimLocked(worker: String, limit: Int) throws -> [Lease]
    /// The store's fenced completion: `staleLease` unless the token still holds the job. Inside `write`.
    func completeLocked(_ lease: Lease, output: JobOutput) throws
}

extension LeaseTransactions {
    /// Claims the best pending job in its own transaction; kill point `claim` once a claim has committed.
    func claimOne(worker: String) throws -> Lease? {
        let lease = try write { try claimLocked(worker: worker, limit: 1).first }
        if lease != nil { KillPoint.reached("claim") }
        return lease
    }

    /// Completes `lease` and, given a `worker`, claims that worker's next job in the same transaction (one commit,
    /// one fsync on SQLite, per job instead of two); kill point `complete` once the transaction has committed.
    func completeThenClaim(_ lease: Lease, output: JobOutput, worker: String?) throws -> Lease? {
        let next = try write { () throws -> Lease? in
            try completeLocked(lease, output: output)
            guard let worker else { return nil }
            return try claimLocked(worker: worker, limit: 1).first
        }
        KillPoint.reached("complete")
        return next
    }
}
