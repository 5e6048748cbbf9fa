import Foundation
import XCTest
@testable import Queue

/// The queue contract (`JobQueue`), one body per behaviour, run unchanged against every store.
final class QueueConformanceTests: XCTestCase {
    private let batch = BatchSpec(name: "conf", baseSeed: 100, steps: 2, guidance: 1.5, maxAttempts: 3)

    func testSubmitIsIdempotentAndResolvesSeedsOnce() throws {
        try forEachStore { s in
            let q = try s.open()
            let first = try q.submit(batch: batch, jobs: prompts(10))
            XCTAssertEqual(first.enqueued, 10, s.name)
            let again = try q.submit(batch: batch, jobs: prompts(12))
            XCTAssertEqual([again.enqueued, again.duplicates], [2, 10], s.name)
            let jobs = try q.list(JobFilter(batch: "conf", limit: 100))
            XCTAssertEqual(jobs.map(\.seed), (0..<12).map { 100 + Int64($0) }, s.name)
            XCTAssertEqual(jobs.map(\.key), (1...12).map { "line:\($0)" }, s.name)
            XCTAssertEqual(jobs.first?.steps, 2, s.name)
            XCTAssertThrowsError(try q.submit(batch: batch, jobs: [JobSpec(prompt: " ")]), s.name)
            try assertCountsMatchRows(s, q)
        }
    }

    func testTwoConnectionsSubmittingOneFileEnqueueEachLineOnce() throws {
        try forEachStore { s in
            var opts = QueueOptions()
            opts.submitChunk = 50  // many interleaved transactions
            let a = try s.open(opts), b = try s.open(opts)
            let results = try concurrently([a, b]) { q in try q.submit(batch: self.batch, jobs: self.prompts(500)) }
            XCTAssertEqual(results.map(\.enqueued).reduce(0, +), 500, s.name)
            XCTAssertEqual(try a.status().counts.pending, 500, s.name)
        }
    }

    func testClaimOrderAndFencedTransitions() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(3) + [JobSpec(prompt: "urgent", priority: 5)])
            let lease = try XCTUnwrap(try q.claim(worker: "w1"))
            XCTAssertEqual(lease.job.prompt, "urgent", s.name)
            XCTAssertEqual([lease.job.attempts, Int(lease.job.state == .running ? 1 : 0)], [1, 1], s.name)
            XCTAssertEqual(lease.job.workerId, "w1", s.name)
            try q.heartbeat(lease)
            let forged = Lease(job: lease.job, token: "forged")
            assertStale(s, lease.job.id, "heartbeat") { try q.heartbeat(forged) }
            assertStale(s, lease.job.id, "complete") { try q.complete(forged, output: output(lease.job.id)) }
            assertStale(s, lease.job.id, "fail") { _ = try q.fail(forged, error: "x", retryable: true) }
            assertStale(s, lease.job.id, "release") { try q.release(forged) }
            try q.complete(lease, output: output(lease.job.id))
            assertStale(s, lease.job.id, "second complete") { try q.complete(lease, output: output(lease.job.id)) }
            let done = try XCTUnwrap(try q.job(lease.job.id))
            XCTAssertEqual(done.state, .succeeded, s.name)
            XCTAssertEqual(done.outputPath, "/o/\(lease.job.id).png", s.name)
            XCTAssertEqual(done.timings?.unetMs, 2, s.name)
            try assertCountsMatchRows(s, q)
        }
    }

    func testCanceledJobFencesItsWorkerOut() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(2))
            let lease = try XCTUnwrap(try q.claim(worker: "w"))
            XCTAssertEqual(try q.cancel(.job(lease.job.id)), 1, s.name)
            assertStale(s, lease.job.id, "complete after cancel") { try q.complete(lease, output: output(lease.job.id)) }
            XCTAssertEqual(try q.cancel(.batch("conf")), 1, s.name)
            XCTAssertEqual(try q.retry(.all), 0, s.name)
            XCTAssertEqual(try q.retry(.batch("conf"), includeCanceled: true), 2, s.name)
            XCTAssertThrowsError(try q.cancel(.job(999_999)), s.name) { XCTAssertEqual($0 as? QueueError, .unknownJob(999_999)) }
            XCTAssertThrowsError(try q.cancel(.batch("nope")), s.name) { XCTAssertEqual($0 as? QueueError, .unknownBatch("nope")) }
            try assertCountsMatchRows(s, q)
        }
    }

    func testFailRetriesWithBackoffUntilMaxAttempts() throws {
        try forEachStore { s in
            var opts = QueueOptions()
            opts.retryBackoffSeconds = 0.4
            let q = try s.open(opts)
            _ = try q.submit(batch: BatchSpec(name: "retry", maxAttempts: 2), jobs: prompts(1))
            let first = try XCTUnwrap(try q.claim(worker: "w"))
            XCTAssertEqual(try q.fail(first, error: "oom", retryable: true), .pending, s.name)
            XCTAssertNil(try q.claim(worker: "w"), "[\(s.name)] claimed during the backoff")
            Thread.sleep(forTimeInterval: 0.5)
            let second = try XCTUnwrap(try q.claim(worker: "w"), s.name)
            XCTAssertEqual(second.job.attempts, 2, s.name)
            XCTAssertEqual(try q.fail(second, error: "oom again", retryable: true), .failed, s.name)
            XCTAssertEqual(try q.job(second.job.id)?.error, "oom again", s.name)
            XCTAssertEqual(try q.retry(.all), 1, s.name)
            XCTAssertEqual(try q.job(second.job.id)?.attempts, 0, s.name)
            try assertCountsMatchRows(s, q)
        }
    }

    func testReleaseRefundsTheAttempt() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(1))
            let lease = try XCTUnwrap(try q.claim(worker: "w"))
            try q.release(lease)
            let job = try XCTUnwrap(try q.job(lease.job.id))
            XCTAssertEqual([job.attempts], [0], s.name)
            XCTAssertEqual(job.state, .pending, s.name)
            XCTAssertNil(job.workerId, s.name)
            assertStale(s, lease.job.id, "release twice") { try q.release(lease) }
        }
    }

    func testRescueOfExpiredLeasesAndPoisonLimit() throws {
        try forEachStore { s in
            var opts = QueueOptions()
            opts.leaseSeconds = 0.3
            opts.maxRescues = 2
            let q = try s.open(opts)
            _ = try q.submit(batch: batch, jobs: prompts(1))
            let first = try XCTUnwrap(try q.claim(worker: "dies"))
            XCTAssertEqual(try q.recoverExpiredLeases(), QueueRecovery(), "[\(s.name)] a live lease was rescued")
            Thread.sleep(forTimeInterval: 0.4)
            XCTAssertEqual(try q.recoverExpiredLeases(), QueueRecovery(rescued: 1), s.name)
            assertStale(s, first.job.id, "complete after rescue") { try q.complete(first, output: output(first.job.id)) }
            let rescued = try XCTUnwrap(try q.job(first.job.id))
            XCTAssertEqual([rescued.rescues, rescued.attempts], [1, 0], s.name)
            let second = try XCTUnwrap(try q.claim(worker: "dies again"))
            XCTAssertEqual(try q.recoverLeases { $0 == "dies again" }, QueueRecovery(poisoned: 1), s.name)
            let poisoned = try XCTUnwrap(try q.job(second.job.id))
            XCTAssertEqual(poisoned.state, .failed, s.name)
            XCTAssertEqual(poisoned.error, "worker died 2 times while rendering this job (poison job?)", s.name)
            try assertCountsMatchRows(s, q)
        }
    }

    func testRecoverAllTakesBackLiveLeases() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(3))
            let leases = try q.claim(worker: "w", limit: 2)
            XCTAssertEqual(leases.count, 2, s.name)
            XCTAssertEqual(Set(leases.map(\.token)).count, 1, "[\(s.name)] one token per batched claim")
            XCTAssertEqual(try q.recoverExpiredLeases(all: true), QueueRecovery(rescued: 2), s.name)
            XCTAssertEqual(try q.complete(leases.map { ($0, output($0.job.id)) }).sorted(), leases.map(\.job.id).sorted(), s.name)
        }
    }

    func testPauseStopsClaimsWithoutTouchingRows() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(2))
            try q.setPaused(true)
            XCTAssertTrue(try q.isPaused(), s.name)
            XCTAssertNil(try q.claim(worker: "w"), s.name)
            try q.setPaused(false)
            try q.setPaused(true, batch: "conf")
            XCTAssertNil(try q.claim(worker: "w"), s.name)
            XCTAssertEqual(try q.status().batches.first?.paused, true, s.name)
            XCTAssertThrowsError(try q.setPaused(true, batch: "nope"), s.name)
            try q.setPaused(false, batch: "conf")
            XCTAssertNotNil(try q.claim(worker: "w"), s.name)
        }
    }

    func testListPagesExportAndStats() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(12))
            _ = try q.submit(batch: BatchSpec(name: "other"), jobs: prompts(3))
            let page1 = try q.list(JobFilter(batch: "conf", limit: 5))
            let page2 = try q.list(JobFilter(batch: "conf", afterId: page1.last?.id ?? 0, limit: 5))
            XCTAssertEqual(page1.count + page2.count, 10, s.name)
            XCTAssertTrue(page1.last!.id < page2.first!.id, s.name)
            var exported = 0
            try q.export(batch: "conf") { _ in exported += 1 }
            XCTAssertEqual(exported, 12, s.name)
            XCTAssertEqual(try q.list(JobFilter(state: .pending, limit: 100)).count, 15, s.name)
            let next = try q.claim(worker: "w", limit: 4)
            XCTAssertNil(try q.complete(next.map { ($0, output($0.job.id)) }).first, s.name)
            let stats = try q.stats(batch: "conf")
            XCTAssertEqual(stats.windows.map(\.window), ["1m", "5m", "1h", "all"], s.name)
            XCTAssertEqual(stats.windows.first?.completed, 4, s.name)
            XCTAssertEqual(stats.windows.first?.stages["total"]?.p50, 10, s.name)
            XCTAssertEqual(stats.remaining, 8, s.name)
            XCTAssertEqual(try q.stats(batch: nil, recentOnly: true).windows.count, 2, s.name)
            try assertCountsMatchRows(s, q)
        }
    }

    func testConcurrentClaimersNeverShareAJob() throws {
        try forEachStore { s in
            let setup = try s.open()
            _ = try setup.submit(batch: batch, jobs: prompts(400))
            let claimers = try (0..<4).map { _ in try s.open() }
            let claimed = try concurrently(claimers) { q -> [Int64] in
                var mine: [Int64] = []
                while true {
                    let leases = try q.claim(worker: "c", limit: 3)
                    if leases.isEmpty { return mine }
                    mine += leases.map(\.job.id)
                    XCTAssertEqual(try q.complete(leases.map { ($0, self.output($0.job.id)) }), [], s.name)
                }
            }
            let all = claimed.flatMap { $0 }
            XCTAssertEqual(all.count, 400, "[\(s.name)] claims")
            XCTAssertEqual(Set(all).count, 400, "[\(s.name)] a job was handed out twice")
            XCTAssertEqual(try setup.status().counts.succeeded, 400, s.name)
        }
    }

    func testEightProcessesNeverShareAJob() throws {
        try forEachStore { s in
            _ = try s.open().submit(batch: batch, jobs: prompts(5000))
            let started = Date()
            let workers = try (0..<8).map { try HelperProcess(productPath("mdd-queue-helper"), ["work", s.location, "p\($0)"]) }
            let outputs = workers.map { $0.waitForOutput() }
            XCTAssertEqual(workers.map(\.status), Array(repeating: 0, count: 8), s.name)
            let ids = outputs.flatMap(HelperProcess.doneIds)
            XCTAssertEqual(ids.count, 5000, s.name)
            XCTAssertEqual(Set(ids).count, 5000, "[\(s.name)] a job was completed by two processes")
            XCTAssertEqual(try s.open().status().counts.succeeded, 5000, s.name)
            print("[\(s.name)] 8 processes, 5000 jobs: \(String(format: "%.1f", Date().timeIntervalSince(started))) s, per process \(outputs.map { HelperProcess.doneIds($0).count })")
        }
    }

    /// Runs `body` on every queue on its own thread at once; the results in order, or the first error.
    private func concurrently<T>(_ queues: [any JobQueue], _ body: @escaping (any JobQueue) throws -> T) throws -> [T] {
        let lock = NSLock()
        var results = [Result<T, Error>?](repeating: nil, count: queues.count)
        DispatchQueue.concurrentPerform(iterations: queues.count) { i in
            let r = Result { try body(queues[i]) }
            lock.withLock { results[i] = r }
        }
        return try results.map { try XCTUnwrap($0).get() }
    }
}
