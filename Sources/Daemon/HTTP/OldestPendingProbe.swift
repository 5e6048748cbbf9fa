import Foundation
import Queue

/// Finds the oldest pending job for `mdd_queue_oldest_pending_age_seconds` without walking the whole finished
/// history on every scrape.
///
/// The queue lists pending jobs in id order (ids grow with creation time) by walking ids from the start, so with
/// a million finished jobs ahead of the first pending one each look-up would hold the store's lock for a full
/// scan, once a second per scraper. Instead the probe starts where the oldest pending job was last time: jobs
/// before it were not pending then and rarely become so again (retry, lease recovery), so a full walk once a
/// minute catches those; in between the age may read young by at most that minute.
final class OldestPendingProbe: @unchecked Sendable {
    static let fullScanSeconds = 60.0

    private let lock = NSLock()
    /// No job with an id up to this one was pending at the last look-up.
    private var floorId: Int64 = 0
    private var lastFullScan = -Double.infinity

    /// Creation time (Unix seconds) of the oldest pending job, nil when none is pending.
    func oldestCreatedAt(store: any JobQueue, pending: Int, now: Double) throws -> Double? {
        guard pending > 0 else { return nil }
        return try lock.withLock {
            let full = now - lastFullScan >= Self.fullScanSeconds
            if let job = try first(store, after: full ? 0 : floorId) ?? (full ? nil : first(store, after: 0)) {
                floorId = job.id - 1
                if full { lastFullScan = now }
                return job.createdAt
            }
            return nil
        }
    }

    private func first(_ store: any JobQueue, after id: Int64) throws -> Job? {
        try store.list(JobFilter(state: .pending, afterId: id, limit: 1)).first
    }
}
