import Foundation

/// The job queue's contract, as the daemon uses it: one protocol, two stores behind it (`JobStore` on SQLite,
/// embedded; `PostgresJobStore` for a fleet of daemons sharing one database). Every store gives the same
/// guarantees, checked by one conformance suite (Tests/QueueTests/Conformance):
///
/// - submits are idempotent per (batch, key) and resolve seeds once;
/// - a claim hands a job to one worker under a fresh lease token, and every later transition (heartbeat,
///   complete, fail, release) is fenced on that token, so a stale worker cannot settle a job;
/// - expired leases are rescued back to pending, and a job rescued `maxRescues` times fails as poison;
/// - counts per batch equal the rows after every transition.
public protocol JobQueue: AnyObject, Sendable {
    /// Where the queue lives, for logs and messages: a file path, or a URL without its password.
    var location: String { get }
    /// The tunables the store was opened with.
    var options: QueueOptions { get }

    // MARK: Submit
    /// Validates every job, then inserts them; a (batch, key) already present is skipped (idempotent resubmit).
    func submit(batch: BatchSpec, jobs: [JobSpec], startIndex: Int) throws -> SubmitResult

    // MARK: Leases
    /// Claims the best pending job (priority, then FIFO) of an unpaused batch, unless the queue is paused.
    func claim(worker: String) throws -> Lease?
    /// Claims up to `limit` jobs in one transaction, all under one lease token.
    func claim(worker: String, limit: Int) throws -> [Lease]
    /// Extends the lease of a job still held by its token, or throws `staleLease`.
    func heartbeat(_ lease: Lease) throws
    /// Marks the job succeeded with its output; throws `staleLease` unless the token still holds it.
    func complete(_ lease: Lease, output: JobOutput) throws
    /// Completes one job and claims the next in one transaction.
    func complete(_ lease: Lease, output: JobOutput, thenClaimFor worker: String) throws -> Lease?
    /// Completes many jobs in one transaction; returns the ids whose lease was lost (their results discarded).
    @discardableResult
    func complete(_ results: [(Lease, JobOutput)]) throws -> [Int64]
    /// Records a failure: retryable ones go back to pending after a backoff until `max_attempts`. Returns the new state.
    @discardableResult
    func fail(_ lease: Lease, error: String, retryable: Bool) throws -> JobState
    /// Returns a held job to pending without spending an attempt (graceful stop).
    func release(_ lease: Lease) throws
    /// Rescues expired leases (all running ones with `all`), failing a job as poison at its `maxRescues`-th rescue.
    func recoverExpiredLeases(all: Bool) throws -> QueueRecovery
    /// Rescues running jobs whose worker is known to be gone, without waiting for their leases to expire.
    func recoverLeases(heldBy isDead: (String) -> Bool) throws -> QueueRecovery

    // MARK: Control
    /// Cancels pending and running jobs; returns how many.
    @discardableResult
    func cancel(_ target: QueueTarget) throws -> Int
    /// Puts failed (and optionally canceled) jobs back to pending with fresh attempts; returns how many.
    @discardableResult
    func retry(_ target: QueueTarget, includeCanceled: Bool) throws -> Int
    /// Stops or resumes claims from the whole queue (`batch` nil) or one batch.
    func setPaused(_ paused: Bool, batch: String?) throws
    /// Whether the whole queue is paused.
    func isPaused() throws -> Bool

    // MARK: Queries
    /// Counts per state, overall and per batch.
    func status() throws -> QueueStatus
    /// One job by id.
    func job(_ id: Int64) throws -> Job?
    /// Jobs matching `filter`, by id (keyset pages).
    func list(_ filter: JobFilter) throws -> [Job]
    /// Throughput and per-stage percentiles over the stats windows, plus the ETA.
    func stats(batch: String?, recentOnly: Bool) throws -> QueueStats

    // MARK: Nodes
    /// Records `node`'s heartbeat (database clock), replacing its earlier report and worker rows. Returns the
    /// name's previous holder (host and pid; without workers), nil for a new name, so that a daemon notices another
    /// one reporting under its name.
    @discardableResult
    func report(node: NodeReport) throws -> NodeReport?
    /// Every node that has reported, by name, with its workers and the age of its last heartbeat.
    func nodes() throws -> [NodeRecord]
    /// Deletes the rows of nodes silent for more than `seconds` (stopped long ago, or gone), with their workers;
    /// returns how many (with `dryRun`, only counts them).
    func forgetNodes(silentFor seconds: Double, dryRun: Bool) throws -> Int

    // MARK: Pruning
    /// Deletes finished (succeeded, failed, canceled) jobs matching `filter`, never pending or running ones, and
    /// returns how many; with `dryRun` only counts them. Counts per batch stay equal to the rows. Output files stay.
    func prune(_ filter: PruneFilter, dryRun: Bool) throws -> Int

    // MARK: Wake-ups
    /// A new listener for the cluster's wake-ups (submit, retry, resume on any node), or nil where the store has
    /// none (SQLite: the only daemon wakes its own workers).
    func wakeSource() throws -> (any QueueWakeSource)?

    // MARK: Lifecycle
    /// Writes a consistent copy of the queue to `path`, where the store can (`QueueError.backup` where not).
    @discardableResult
    func backup(to path: String) throws -> Int
    /// Closes the store (a clean stop); later calls throw `QueueError.closed`.
    func close() throws
}

/// The usual arguments, so callers need not spell them out (protocol requirements cannot have defaults).
extension JobQueue {
    /// Submits with keys and seeds counted from the first line.
    public func submit(batch: BatchSpec, jobs: [JobSpec]) throws -> SubmitResult {
        try submit(batch: batch, jobs: jobs, startIndex: 0)
    }

    /// Rescues the leases that have expired.
    public func recoverExpiredLeases() throws -> QueueRecovery { try recoverExpiredLeases(all: false) }

    /// Retries failed jobs (not canceled ones).
    @discardableResult
    public func retry(_ target: QueueTarget) throws -> Int { try retry(target, includeCanceled: false) }

    /// Pauses or resumes the whole queue.
    public func setPaused(_ paused: Bool) throws { try setPaused(paused, batch: nil) }

    /// Every window, over all batches.
    public func stats() throws -> QueueStats { try stats(batch: nil, recentOnly: false) }

    /// Every window, for one batch (or all).
    public func stats(batch: String?) throws -> QueueStats { try stats(batch: batch, recentOnly: false) }

    /// Streams every job of a batch (or all batches) in id order, in pages of 5,000, for manifests.
    public func export(batch: String?, _ body: (Job) throws -> Void) throws {
        var after: Int64 = 0
        while true {
            let page = try list(JobFilter(batch: batch, afterId: after, limit: 5000))
            for j in page { try body(j) }
            guard let last = page.last else { return }
            after = last.id
        }
    }
}

/// Which jobs a control operation applies to.
public enum QueueTarget: Sendable, Equatable {
    case job(Int64)
    case batch(String)
    case all
}

/// Result of a recovery pass.
public struct QueueRecovery: Sendable, Equatable {
    public var rescued = 0
    public var poisoned = 0
    public init(rescued: Int = 0, poisoned: Int = 0) {
        self.rescued = rescued
        self.poisoned = poisoned
    }
}

/// Tunables shared by every store; the defaults suit one daemon on one machine.
public struct QueueOptions: Sendable {
    /// Seconds a claim holds a job before recovery may take it back (renewed by heartbeats).
    public var leaseSeconds: Double = 60
    /// Rescues (a worker died holding the job) after which the job is failed as poison.
    public var maxRescues: Int = 5
    /// First retry delay after a retryable failure, doubled per attempt (capped at 5 minutes).
    public var retryBackoffSeconds: Double = 1
    /// Jobs per transaction in bulk submits.
    public var submitChunk: Int = 100_000
    /// Check the database on open and refuse a damaged one (SQLite's `PRAGMA quick_check`).
    public var verifyOnOpen: Bool = true
    /// PostgreSQL only: seconds after which the server cancels a statement (`statement_timeout`; 0: never), so that a
    /// statement stuck on a lock held elsewhere fails with `QueueError.statementTimeout` instead of hanging. Long
    /// enough for the slowest legitimate statement (a prune of millions of rows); migrations are exempt.
    public var statementTimeoutSeconds: Double = 60
    public init() {}

    /// The retry delay after `attempts` attempts: doubled per attempt, capped at 5 minutes.
    public func backoff(afterAttempts attempts: Int) -> Double {
        min(retryBackoffSeconds * pow(2, Double(max(0, attempts - 1))), 300)
    }
}
