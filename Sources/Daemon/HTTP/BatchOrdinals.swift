import Foundation
import Queue

/// Each job's 0-based position in its batch (submission order), the "index" shown under thumbnails and on
/// contact sheets. The queue orders a batch's jobs by id but stores no position, so the ids are listed once per
/// batch and kept (8 bytes a job); later calls only list the jobs submitted since. Jobs are never deleted, so the
/// positions never change.
final class BatchOrdinals: @unchecked Sendable {
    static let shared = BatchOrdinals()

    private let lock = NSLock()
    private var ids: [String: [Int64]] = [:]

    /// Positions of `jobs` (all of `batch`) in their batch.
    func indexes(of jobs: [Job], batch: String, store: JobStore) throws -> [Int64: Int] {
        let known = try refreshed(batch, store: store, upTo: jobs.map(\.id).max() ?? 0)
        var out: [Int64: Int] = [:]
        for j in jobs {
            if let i = Self.search(known, j.id) { out[j.id] = i }
        }
        return out
    }

    /// The batch's ids up to at least `upTo` (or all of them), listed further when `upTo` is beyond the last known.
    private func refreshed(_ batch: String, store: JobStore, upTo id: Int64) throws -> [Int64] {
        try lock.withLock {
            var known = ids[batch] ?? []
            if let last = known.last, last >= id { return known }
            // Only as far as asked: the first page of a million-job batch lists 5,000 ids, not a million.
            while (known.last ?? 0) < id {
                let page = try store.list(JobFilter(batch: batch, afterId: known.last ?? 0, limit: 5000))
                known += page.map(\.id)
                if page.count < 5000 { break }
            }
            ids[batch] = known
            return known
        }
    }

    /// Binary search in ascending ids.
    private static func search(_ ids: [Int64], _ id: Int64) -> Int? {
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < ids.count && ids[lo] == id ? lo : nil
    }
}
