import XCTest
@testable import Queue

final class StateMachineTests: XCTestCase {
    func testClaimCompleteRecordsEverything() throws {
        let clock = TestClock()
        let q = try makeStore(clock: clock)
        let r = try q.submit(batch: BatchSpec(name: "b1", baseSeed: 10, steps: 2), jobs: prompts(3))
        XCTAssertEqual(r, { var s = SubmitResult(); s.requested = 3; s.enqueued = 3; return s }())
        clock.advance(2)
        let lease = try XCTUnwrap(try q.claim(worker: "w1"))
        XCTAssertEqual(lease.job.prompt, "p 1")
        XCTAssertEqual(lease.job.seed, 10)
        XCTAssertEqual(lease.job.state, .running)
        XCTAssertEqual(lease.job.attempts, 1)
        XCTAssertEqual(lease.job.workerId, "w1")
        XCTAssertEqual(lease.job.queueWaitMs ?? 0, 2000, accuracy: 1e-6)
        try q.complete(lease, output: output(lease.job.id))
        let done = try XCTUnwrap(try q.job(lease.job.id))
        XCTAssertEqual(done.state, .succeeded)
        XCTAssertEqual(done.outputPath, "/o/\(lease.job.id).png")
        XCTAssertEqual(done.timings?.totalMs, 10)
        XCTAssertEqual(try q.status().counts.succeeded, 1)
        XCTAssertEqual(try q.status().counts.pending, 2)
    }

    func testBatchedClaimAndCompleteAreFencedPerJob() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(10))
        let first = try q.claim(worker: "w", limit: 4)
        XCTAssertEqual(first.map(\.job.id), [1, 2, 3, 4])
        XCTAssertTrue(first.allSatisfy { $0.job.state == .running && $0.job.attempts == 1 })
        XCTAssertEqual(try q.cancel(.job(2)), 1)
        let stale = try q.complete(first.map { ($0, output($0.job.id)) })
        XCTAssertEqual(stale, [2], "the canceled job's result is discarded, the others commit")
        let c = try q.status().counts
        XCTAssertEqual([c.succeeded, c.canceled, c.pending], [3, 1, 6])
        XCTAssertEqual(try q.claim(worker: "w", limit: 100).count, 6)
        try q.setPaused(true)
        XCTAssertEqual(try q.claim(worker: "w", limit: 5).count, 0)
    }

    func testPriorityThenFIFO() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "low"), jobs: prompts(2, prefix: "low"))
        _ = try q.submit(batch: BatchSpec(name: "high", priority: 5), jobs: prompts(2, prefix: "high"))
        let order = try (0..<4).map { _ in try XCTUnwrap(try q.claim(worker: "w")).job.prompt }
        XCTAssertEqual(order, ["high 1", "high 2", "low 1", "low 2"])
        XCTAssertNil(try q.claim(worker: "w"))
    }

    func testRetryableFailureBacksOffThenFailsAtMaxAttempts() throws {
        let clock = TestClock()
        let q = try makeStore(clock: clock)
        _ = try q.submit(batch: BatchSpec(name: "b", maxAttempts: 2), jobs: prompts(1))
        let l1 = try XCTUnwrap(try q.claim(worker: "w"))
        XCTAssertEqual(try q.fail(l1, error: "disk full", retryable: true), .pending)
        XCTAssertNil(try q.claim(worker: "w"), "backoff must delay the retry")
        clock.advance(1.5)
        let l2 = try XCTUnwrap(try q.claim(worker: "w"))
        XCTAssertEqual(l2.job.attempts, 2)
        XCTAssertEqual(l2.job.seed, l1.job.seed, "retries reuse the stored seed")
        XCTAssertEqual(try q.fail(l2, error: "disk full again", retryable: true), .failed)
        let j = try XCTUnwrap(try q.job(l1.job.id))
        XCTAssertEqual(j.state, .failed)
        XCTAssertEqual(j.error, "disk full again")
    }

    func testNonRetryableFailureFailsAtOnce() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(1))
        let l = try XCTUnwrap(try q.claim(worker: "w"))
        XCTAssertEqual(try q.fail(l, error: "bad size", retryable: false), .failed)
    }

    func testReleaseRefundsTheAttempt() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(1))
        let l = try XCTUnwrap(try q.claim(worker: "w"))
        try q.release(l)
        let j = try XCTUnwrap(try q.job(l.job.id))
        XCTAssertEqual(j.state, .pending)
        XCTAssertEqual(j.attempts, 0)
    }

    func testStaleTokensAreRejectedEverywhere() throws {
        let clock = TestClock()
        var opts = JobStore.Options()
        opts.leaseSeconds = 10
        let q = try makeStore(clock: clock, options: opts)
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(1))
        let stale = try XCTUnwrap(try q.claim(worker: "dead"))
        clock.advance(11)
        XCTAssertEqual(try q.recoverExpiredLeases().rescued, 1)
        let fresh = try XCTUnwrap(try q.claim(worker: "alive"))
        XCTAssertEqual(fresh.job.id, stale.job.id)
        XCTAssertEqual(fresh.job.attempts, 1, "a rescue refunds the attempt")
        XCTAssertEqual(fresh.job.rescues, 1)
        for op in [{ try q.complete(stale, output: self.output(1)) }, { _ = try q.fail(stale, error: "x", retryable: true) },
                   { try q.heartbeat(stale) }, { try q.release(stale) }] as [() throws -> Void] {
            XCTAssertThrowsError(try op()) { XCTAssertEqual($0 as? QueueError, .staleLease(jobId: stale.job.id)) }
        }
        try q.heartbeat(fresh)
        try q.complete(fresh, output: output(fresh.job.id))
        XCTAssertThrowsError(try q.complete(fresh, output: output(fresh.job.id)), "settling twice is rejected")
    }

    func testHeartbeatKeepsTheLease() throws {
        let clock = TestClock()
        var opts = JobStore.Options()
        opts.leaseSeconds = 10
        let q = try makeStore(clock: clock, options: opts)
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(1))
        let l = try XCTUnwrap(try q.claim(worker: "w"))
        for _ in 0..<5 { clock.advance(8); try q.heartbeat(l) }
        XCTAssertEqual(try q.recoverExpiredLeases().rescued, 0)
        try q.complete(l, output: output(l.job.id))
    }

    func testPoisonJobFailsAfterMaxRescues() throws {
        let clock = TestClock()
        var opts = JobStore.Options()
        opts.leaseSeconds = 1
        opts.maxRescues = 3
        let q = try makeStore(clock: clock, options: opts)
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(1))
        for i in 1...3 {
            XCTAssertNotNil(try q.claim(worker: "w"), "claim \(i)")
            clock.advance(2)
            let r = try q.recoverExpiredLeases()
            XCTAssertEqual(r, i < 3 ? .init(rescued: 1, poisoned: 0) : .init(rescued: 0, poisoned: 1))
        }
        let j = try XCTUnwrap(try q.list(JobFilter()).first)
        XCTAssertEqual(j.state, .failed)
        XCTAssertTrue(j.error?.contains("poison") ?? false, j.error ?? "")
    }

    func testStartupRecoveryTakesBackEveryRunningJob() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(2))
        _ = try q.claim(worker: "w")
        XCTAssertEqual(try q.recoverExpiredLeases().rescued, 0, "the lease has not expired")
        XCTAssertEqual(try q.recoverExpiredLeases(all: true).rescued, 1)
    }

    func testCancelAndRetryIncludingRunningJobs() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(3))
        let running = try XCTUnwrap(try q.claim(worker: "w"))
        XCTAssertEqual(try q.cancel(.batch("b")), 3)
        XCTAssertThrowsError(try q.complete(running, output: output(running.job.id)), "a canceled job's worker is fenced out")
        XCTAssertEqual(try q.status().counts.canceled, 3)
        XCTAssertEqual(try q.retry(.batch("b")), 0, "canceled jobs need includeCanceled")
        XCTAssertEqual(try q.retry(.batch("b"), includeCanceled: true), 3)
        let again = try XCTUnwrap(try q.claim(worker: "w"))
        XCTAssertEqual(again.job.seed, running.job.seed)
        XCTAssertEqual(try q.retry(.job(again.job.id)), 0, "retrying a running job does nothing")
        XCTAssertEqual(try q.cancel(.job(again.job.id)), 1)
        XCTAssertEqual(try q.cancel(.all), 2)
        XCTAssertThrowsError(try q.cancel(.job(999))) { XCTAssertEqual($0 as? QueueError, .unknownJob(999)) }
        XCTAssertThrowsError(try q.retry(.batch("nope"))) { XCTAssertEqual($0 as? QueueError, .unknownBatch("nope")) }
    }

    func testPauseQueueAndBatch() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "a"), jobs: prompts(1))
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(1))
        try q.setPaused(true)
        XCTAssertNil(try q.claim(worker: "w"))
        XCTAssertTrue(try q.isPaused())
        try q.setPaused(false)
        try q.setPaused(true, batch: "a")
        XCTAssertEqual(try q.claim(worker: "w")?.job.batch, "b")
        XCTAssertNil(try q.claim(worker: "w"))
        XCTAssertEqual(try q.status().counts.pending, 1, "pausing changes no job rows")
        try q.setPaused(false, batch: "a")
        XCTAssertEqual(try q.claim(worker: "w")?.job.batch, "a")
        XCTAssertThrowsError(try q.setPaused(true, batch: "zzz"))
    }

    func testStatsAndExport() throws {
        let clock = TestClock()
        let q = try makeStore(clock: clock)
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(10))
        for _ in 0..<4 {
            let l = try XCTUnwrap(try q.claim(worker: "w"))
            clock.advance(5)
            try q.complete(l, output: output(l.job.id))
        }
        let s = try q.stats()
        let minute = try XCTUnwrap(s.windows.first { $0.window == "1m" })
        XCTAssertEqual(minute.completed, 4)
        XCTAssertEqual(minute.imagesPerMinute, 12, accuracy: 1e-9, "4 jobs over the 20 s since the first claim")
        XCTAssertEqual(minute.stages["total"]?.p50, 10)
        XCTAssertEqual(s.remaining, 6)
        XCTAssertEqual(s.etaSeconds ?? 0, 30, accuracy: 1e-6)
        var exported: [Job] = []
        try q.export(batch: "b") { exported.append($0) }
        XCTAssertEqual(exported.count, 10)
        XCTAssertEqual(exported.filter { $0.state == .succeeded }.count, 4)
        XCTAssertEqual(try q.list(JobFilter(batch: "b", state: .pending, limit: 3)).count, 3)
        let page2 = try q.list(JobFilter(batch: "b", afterId: 5, limit: 100))
        XCTAssertEqual(page2.first?.id, 6)
    }
}
