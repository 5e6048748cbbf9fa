import Foundation
import Queue

/// Each job's 0-based position in its batch (submission order), the "index" shown under thumbnails and on
/// contact sheets. The queue orders a batch's jobs by id but stores no position, so the ids are listed once per
/// batch and kept (8 bytes a job); later calls only list the jobs submitted since. Jobs are never deleted, so the
/// positions never change.
final class BatchOrdinals: @unchecked Sendable {
    static let shared = BatchOrdinals()
    /// Ids listed per query (one short hold of the store's lock each).
    static let chunk = 5000
    /// A page that would wait for more than this many ids to be listed gets its numbers later instead.
    static let pageBudget = 20_000

    private let lock = NSLock()
    private var ids: [String: [Int64]] = [:]
    private var filling: Set<String> = []

    /// Positions of `jobs` (all of `batch`) in their batch. With `wait` false, a page deep in a huge batch does not
    /// wait for the listing: it gets the positions already known (maybe none) and the listing goes on in the
    /// background, so the page's next load has them.
    func indexes(of jobs: [Job], batch: String, store: any JobQueue, wait: Bool = true) throws -> [Int64: Int] {
        let upTo = jobs.map(\.id).max() ?? 0
        // The first chunk tells where the batch starts (its ids need not start near 0).
        if known(batch).isEmpty { try fill(batch, store: store, upTo: 1) }
        if wait || upTo - (known(batch).last ?? 0) <= Int64(Self.pageBudget) {
            try fill(batch, store: store, upTo: upTo)
        } else {
            fillInBackground(batch, store: store, upTo: upTo)
        }
        let known = known(batch)
        var out: [Int64: Int] = [:]
        for j in jobs {
            if let i = Self.search(known, j.id) { out[j.id] = i }
        }
        return out
    }

    private func known(_ batch: String) -> [Int64] { lock.withLock { ids[batch] ?? [] } }

    /// Lists the batch's ids until `upTo` is known (or the batch ends), one chunk at a time without holding the
    /// lock while the store answers.
    private func fill(_ batch: String, store: any JobQueue, upTo id: Int64) throws {
        while true {
            let last = known(batch).last ?? 0
            guard last < id else { return }
            let page = try store.list(JobFilter(batch: batch, afterId: last, limit: Self.chunk)).map(\.id)
            lock.withLock {
                // Another caller may have appended the same chunk meanwhile: append only what extends the list.
                let current = ids[batch] ?? []
                ids[batch] = current + page.filter { $0 > (current.last ?? 0) }
            }
            if page.count < Self.chunk { return }
        }
    }

    private func fillInBackground(_ batch: String, store: any JobQueue, upTo id: Int64) {
        let start = lock.withLock { filling.insert(batch).inserted }
        guard start else { return }
        DispatchQueue.global(qos: .utility).async { [self] in
            try? fill(batch, store: store, upTo: id)
            lock.withLock { _ = filling.remove(batch) }
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
