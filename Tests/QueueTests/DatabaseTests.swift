import XCTest
@testable import Queue

final class DatabaseTests: XCTestCase {
    func testFrozenV1DatabaseOpensAndMigrates() throws {
        let fixture = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/v1.sqlite").path
        let copy = try tempDir() + "/v1.sqlite"
        try FileManager.default.copyItem(atPath: fixture, toPath: copy)
        let q = try makeStore(path: copy)
        XCTAssertEqual(try q.schemaVersion(), Schema.version)
        let jobs = try q.list(JobFilter(batch: "legacy-batch"))
        XCTAssertEqual(jobs.map(\.state), [.succeeded, .succeeded, .failed, .canceled, .pending, .pending])
        XCTAssertEqual(jobs.map(\.seed), [1000, 1001, 1002, 1003, 1004, 1005])
        XCTAssertEqual(jobs[2].error, "boom")
        XCTAssertEqual(jobs[0].timings?.totalMs, 10)
        let lease = try XCTUnwrap(try q.claim(worker: "new"))
        XCTAssertEqual(lease.job.id, 5)
        // v2's counts table was filled from the v1 rows and follows later transitions.
        let c = try q.status().counts
        XCTAssertEqual([c.pending, c.running, c.succeeded, c.failed, c.canceled], [1, 1, 2, 1, 1])
        // v4's latency histograms too: both succeeded v1 jobs took 10 ms in total.
        let all = try XCTUnwrap(try q.stats(batch: nil).windows.last)
        XCTAssertEqual([all.completed, all.failed], [2, 1])
        XCTAssertEqual(all.stages["total"]?.mean, 10)
        XCTAssertEqual(all.stages["total"]?.p99 ?? 0, 10, accuracy: 0.1)
    }

    func testCountsTableAgreesWithTheRowsAfterEveryKindOfTransition() throws {
        let clock = TestClock()
        var opts = JobStore.Options()
        opts.leaseSeconds = 5
        let q = try makeStore(clock: clock, options: opts)
        _ = try q.submit(batch: BatchSpec(name: "a"), jobs: prompts(20))
        _ = try q.submit(batch: BatchSpec(name: "b", maxAttempts: 1), jobs: prompts(10))
        for i in 0..<12 {
            guard let l = try q.claim(worker: "w") else { break }
            switch i % 4 {
            case 0: try q.complete(l, output: output(l.job.id))
            case 1: _ = try q.fail(l, error: "x", retryable: i % 8 == 1)
            case 2: try q.release(l)
            default: break  // left running, then expired below
            }
        }
        clock.advance(10)
        _ = try q.recoverExpiredLeases()
        try q.cancel(.batch("b"))
        _ = try q.retry(.all, includeCanceled: true)
        _ = try q.cancel(.job(3))
        let s = try q.db.prepare("SELECT (SELECT count(*) FROM (SELECT batch_id, state, count(*) AS c FROM jobs GROUP BY batch_id, state) g WHERE c <> coalesce((SELECT n FROM batch_counts k WHERE k.batch_id = g.batch_id AND k.state = g.state), -1)) + (SELECT count(*) FROM batch_counts k WHERE n <> (SELECT count(*) FROM jobs j WHERE j.batch_id = k.batch_id AND j.state = k.state))")
        try s.bind([])
        XCTAssertTrue(try s.step())
        XCTAssertEqual(s.int(0), 0, "batch_counts disagrees with the job rows")
        s.reset()
        XCTAssertEqual(try q.status().counts.total, 30)
    }

    func testCorruptDatabaseIsRefusedClearly() throws {
        let path = try tempDir() + "/bad.sqlite"
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try makeStore(path: path)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("not a usable mdd database"), "\(e)")
        }
    }

    func testNewerSchemaIsRefused() throws {
        let path = try tempDir() + "/future.sqlite"
        _ = try makeStore(path: path)
        let db = try SQLiteConnection(path: path)
        try db.exec("PRAGMA user_version = 99")
        XCTAssertThrowsError(try makeStore(path: path)) { e in XCTAssertTrue("\(e)".contains("newer"), "\(e)") }
    }

    func testSettingsAreApplied() throws {
        let q = try makeStore()
        XCTAssertEqual(try q.db.scalarInt("PRAGMA synchronous"), 2, "synchronous = FULL")
        let s = try q.db.prepare("PRAGMA journal_mode")
        try s.bind([])
        XCTAssertTrue(try s.step())
        XCTAssertEqual(s.text(0), "wal")
    }

    /// A closed store leaves a complete database file (no WAL to copy along) and refuses later calls by name.
    func testCloseCheckpointsIntoTheFileAndLaterCallsThrowClosed() throws {
        let dir = try tempDir()
        let q = try makeStore(path: dir + "/queue.sqlite")
        _ = try q.submit(batch: BatchSpec(name: "a"), jobs: prompts(50))
        try q.close()
        let wal = (try? FileManager.default.attributesOfItem(atPath: dir + "/queue.sqlite-wal")[.size] as? Int) ?? 0
        XCTAssertEqual(wal, 0)
        XCTAssertThrowsError(try q.status()) { e in
            guard case QueueError.closed = e else { return XCTFail("\(e)") }
        }
        try FileManager.default.createDirectory(atPath: dir + "/copy", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/queue.sqlite", toPath: dir + "/copy/queue.sqlite")
        XCTAssertEqual(try makeStore(path: dir + "/copy/queue.sqlite").status().counts.pending, 50)
    }

    /// A state this version does not know is an error naming the job (it used to read back as `failed`).
    func testUnknownStateIsAnErrorNamingTheJob() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "a"), jobs: prompts(2))
        try q.db.exec("PRAGMA ignore_check_constraints = ON; UPDATE jobs SET state = 'zombie' WHERE id = 2")
        XCTAssertThrowsError(try q.list(JobFilter(batch: "a"))) { e in
            XCTAssertEqual(e as? QueueError, .unknownState(jobId: 2, state: "zombie"))
        }
        XCTAssertEqual(try q.job(1)?.state, .pending)
    }

    /// A bind that fails (here SQLITE_TOOBIG) fails the submit; it used to leave the previous row's prompt bound,
    /// and the job was inserted with another job's prompt.
    func testFailedBindFailsTheSubmitInsteadOfReusingThePreviousValue() throws {
        let q = try makeStore()
        q.db.limitLength(to: 200)
        let jobs = [JobSpec(prompt: "short"), JobSpec(prompt: String(repeating: "long ", count: 60))]
        XCTAssertThrowsError(try q.submit(batch: BatchSpec(name: "a"), jobs: jobs)) { e in
            guard case QueueError.sqlite(let code, _, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(code, 18, "SQLITE_TOOBIG")
        }
        XCTAssertEqual(try q.status().counts.total, 0, "nothing inserted")
        XCTAssertFalse(q.db.inTransaction, "rolled back")
    }

    /// A transaction whose body throws with a statement still stepping is rolled back: the next write works.
    func testThrowingBodyLeavesNoTransactionOpen() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "a"), jobs: prompts(3))
        struct Boom: Error {}
        XCTAssertThrowsError(try q.write {
            let s = try q.db.prepare("SELECT id FROM jobs")
            try s.bind([])
            _ = try s.step()  // left mid-result
            throw Boom()
        })
        XCTAssertFalse(q.db.inTransaction)
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(1))
    }

    /// Text is bound whole: a name with a NUL is not the name before it ("b\0x" used to cancel batch "b").
    func testTextIsBoundWithAllItsBytes() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: prompts(2))
        XCTAssertThrowsError(try q.cancel(.batch("b\u{0}x"))) { e in XCTAssertEqual(e as? QueueError, .unknownBatch("b\u{0}x")) }
        XCTAssertEqual(try q.status().counts.pending, 2)
        XCTAssertEqual(try q.list(JobFilter(batch: "b")).map(\.prompt), ["p 1", "p 2"])
    }
}
