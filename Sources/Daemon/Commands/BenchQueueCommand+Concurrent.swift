import Foundation
import Queue

/// `--connections N`: the worker's path (complete and claim the next job, one transaction per job) on N threads at
/// once, each with a store and connection of its own, as the workers of a fleet run. One connection waits for its
/// commit's fsync; several commit together (PostgreSQL flushes the WAL of every transaction waiting at the time in
/// one write, its group commit), so the aggregate rate is the figure a fleet sees, next to the one-connection one.
extension BenchQueueCommand {
    /// Completes about `count` jobs across `connections` stores opened by `open`; aggregate jobs per second and the
    /// jobs completed. The clock starts once every store is open and holds its first lease.
    func measureConcurrent(count: Int, open: () throws -> any JobQueue,
                           output: @escaping @Sendable (Int64) -> JobOutput) throws -> (jobsPerSecond: Double, done: Int) {
        let stores = try (0..<connections).map { _ in try open() }
        defer { for s in stores { try? s.close() } }
        let tally = Tally(limit: count)
        let group = DispatchGroup()
        let start = Date()
        for (i, store) in stores.enumerated() {
            group.enter()
            let worker = "bench-c\(i)"
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    var lease = try store.claim(worker: worker)
                    while let l = lease, tally.take() {
                        lease = try store.complete(l, output: output(l.job.id), thenClaimFor: worker)
                    }
                    if let l = lease { try store.release(l) }
                } catch {
                    tally.fail(error)
                }
            }
        }
        group.wait()
        let seconds = Date().timeIntervalSince(start)
        if let error = tally.error { throw error }
        return (Double(tally.taken) / seconds, tally.taken)
    }
}

/// The shared job budget of the concurrent measure, and the first error a thread met.
private final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    private var count = 0
    private var firstError: Error?

    init(limit: Int) { self.limit = limit }

    /// Takes one job of the budget; false once it is spent or a thread failed.
    func take() -> Bool {
        lock.withLock {
            guard count < limit, firstError == nil else { return false }
            count += 1
            return true
        }
    }

    func fail(_ error: Error) { lock.withLock { if firstError == nil { firstError = error } } }
    var taken: Int { lock.withLock { count } }
    var error: Error? { lock.withLock { firstError } }
}
