import Foundation
import Logging
import Queue

/// Recording how a job ended — a completion or a failure — through a database outage.
///
/// Both go through `hold`: while the queue database is out of reach (or a statement hit the statement timeout)
/// the outcome is kept and the transition repeated, paced by the store's reconnection backoff (between redials
/// the store fails at once), until it commits, the lease is found lost, or the worker stops. Before failures held
/// too, a render error during an outage was dropped: the job stayed running until its lease expired, was rescued
/// with its attempt refunded and a rescue counted towards the poison limit, and was rendered again.
extension RenderWorker {
    /// One transition to hold: how to commit it, what the log calls it, and how to recognise its row if a COMMIT
    /// cut off in flight went through (see `Lease.showsCompletion`, `Lease.showsFailure`).
    struct Outcome<T> {
        /// "rendered" or "failed: ERROR", for the one warning logged when the hold begins.
        let what: String
        /// The worker's state while holding ("holding a result"), for `mdctl workers`; the cause is appended.
        let holding: String
        let commit: () throws -> T
        let committedEarlier: (Job) -> T?
    }

    /// Records the completion; false if the worker stopped first (its PNG is at its path: recovery reuses it).
    func record(_ l: Lease, _ out: JobOutput, until giveUp: () -> Bool) throws -> Bool {
        let outcome = Outcome<Void>(
            what: "rendered", holding: "holding a result",
            commit: { [store] in try store.complete(l, output: out) },
            committedEarlier: { [id] row in l.showsCompletion(in: row, by: id, output: out) ? () : nil })
        return try hold(l, outcome, until: giveUp) != nil
    }

    /// Records a failed render or write: retryable ones go back to pending after a backoff until `max_attempts`.
    /// Held through an outage and a full queue disk like a completion, with the lease renewed by `heartbeat`.
    func recordFailure(_ l: Lease, error: Error, retryable: Bool, _ heartbeat: Heartbeat) {
        let message = "\(error)"
        let outcome = Outcome<JobState>(
            what: "failed (\(message))", holding: "holding a failure",
            commit: { [store] in try store.fail(l, error: message, retryable: retryable) },
            committedEarlier: { [id] row in l.showsFailure(in: row, by: id, error: message) })
        // Counted before the commit, like a completion: whoever sees the job failed in the queue sees it counted.
        lock.withLock { snapshotValue.failed += 1 }
        do {
            guard let state = try hold(l, outcome, until: { [self] in shouldStop || heartbeat.lost }) else {
                lock.withLock { snapshotValue.failed -= 1 }
                let why = heartbeat.lost ? "its lease was lost meanwhile" : "the worker stops while the queue cannot record it"
                return log.error("job \(l.job.id) failed: \(message); not recorded, \(why); recovery takes it back when its lease expires")
            }
            if state == .failed { DaemonMetrics.shared.jobFailed() }
            log.error("job \(l.job.id) failed: \(message)", metadata: ["next_state": "\(state.rawValue)"])
        } catch QueueError.staleLease {
            lock.withLock { snapshotValue.failed -= 1 }
            log.warning("job \(l.job.id) failed: \(message); not recorded, its lease was lost meanwhile (canceled or expired)")
        } catch let recordError {
            lock.withLock { snapshotValue.failed -= 1 }
            log.error("job \(l.job.id) failed: \(message); cannot record the failure: \(recordError); it stays running until its lease expires and recovery takes it back")
        }
    }

    /// Commits `outcome`, holding it while the database cannot take it: a full queue disk waits in `DiskPause`;
    /// an outage (or a statement timeout) repeats it every second, which the store's backoff turns into paced
    /// redials. Returns nil if `giveUp` turns true meanwhile. A repeat refused as stale after a COMMIT was cut
    /// off is checked against the row: the cut-off COMMIT may have gone through, and then the outcome is recorded.
    func hold<T>(_ l: Lease, _ outcome: Outcome<T>, until giveUp: () -> Bool) throws -> T? {
        var cutOff = false
        while true {
            do {
                return try disk.retrying(store.location, until: giveUp, outcome.commit)
            } catch let e as QueueError where e.isConnectionLost || e.isStatementTimeout {
                if giveUp() { return nil }
                if !cutOff { log.warning("job \(l.job.id): \(outcome.what); keeping the outcome until the queue database can record it: \(e)") }
                cutOff = true
                setState(outcome.holding + (e.isStatementTimeout ? ": statement timed out" : ": queue unreachable"), job: l.job.id)
                wake.wait(timeout: 1)
            } catch QueueError.staleLease where cutOff {
                guard let row = try? store.job(l.job.id), let recorded = outcome.committedEarlier(row) else {
                    throw QueueError.staleLease(jobId: l.job.id)
                }
                log.info("job \(l.job.id): the transition cut off by the outage had committed")
                return recorded
            }
        }
    }
}
