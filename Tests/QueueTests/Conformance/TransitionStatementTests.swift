import Foundation
import XCTest
@testable import Queue
import PostgresTestServer

/// The worker's path as one statement on PostgreSQL (completion and next claim as CTEs of one autocommit statement)
/// keeps the contract of the transaction it replaced, on both stores; and the claim vacuum of the PostgreSQL store.
final class TransitionStatementTests: XCTestCase {
    private let batch = BatchSpec(name: "stmt", baseSeed: 3)

    func testCompleteThenClaimIsFencedAndClaimsNothingWithALostLease() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(3))
            let lease = try XCTUnwrap(try q.claim(worker: "w"))
            let forged = Lease(job: lease.job, token: "forged")
            assertStale(s, lease.job.id, "complete then claim") { _ = try q.complete(forged, output: output(lease.job.id), thenClaimFor: "w") }
            // Nothing moved: the lost completion took no job with it.
            XCTAssertEqual(try q.status().counts.running, 1, s.name)
            XCTAssertEqual(try q.job(lease.job.id)?.state, .running, s.name)
            try assertCountsMatchRows(s, q)

            let next = try XCTUnwrap(try q.complete(lease, output: output(lease.job.id), thenClaimFor: "w2"), s.name)
            XCTAssertEqual(next.job.state, .running, s.name)
            XCTAssertEqual(next.job.workerId, "w2", s.name)
            XCTAssertEqual(next.job.attempts, 1, s.name)
            XCTAssertNotEqual(next.job.id, lease.job.id, s.name)
            XCTAssertEqual(try q.job(lease.job.id)?.state, .succeeded, s.name)
            XCTAssertEqual(try q.job(lease.job.id)?.timings?.unetMs, 2, s.name)
            try q.heartbeat(next)  // the new token holds the job
            assertStale(s, lease.job.id, "the old token after its completion") { try q.heartbeat(lease) }
            try assertCountsMatchRows(s, q)

            // The last job: its completion claims nothing and still succeeds.
            let last = try XCTUnwrap(try q.complete(next, output: output(next.job.id), thenClaimFor: "w2"), s.name)
            XCTAssertNil(try q.complete(last, output: output(last.job.id), thenClaimFor: "w2"), s.name)
            XCTAssertEqual(try q.status().counts.succeeded, 3, s.name)
            try assertCountsMatchRows(s, q)
        }
    }

    func testClaimVacuumStartsEveryThresholdAndOneAtATime() {
        let v = ClaimVacuum()
        XCTAssertFalse(v.claimed(ClaimVacuum.every - 1))
        XCTAssertTrue(v.claimed(1), "the threshold starts one")
        XCTAssertFalse(v.claimed(ClaimVacuum.every * 3), "never two at once")
        XCTAssertEqual(v.counts.started, 1)
    }

    func testClaimVacuumVacuumsJobs() throws {
        guard case .success(let server) = TestPostgres.shared else { throw XCTSkip("no PostgreSQL server") }
        let url = try server.createDatabase()
        let store = try PostgresJobStore(url: url)
        _ = try store.submit(batch: batch, jobs: prompts(50))
        let leases = try store.claim(worker: "w", limit: 40)
        XCTAssertEqual(try store.complete(leases.map { ($0, output($0.job.id)) }), [])
        let count = "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'jobs'"
        let check = try PGConnection(conninfo: url, location: "check")
        let before = Int(try check.query(count).scalar ?? "") ?? -1
        store.vacuum.run(conninfo: url)  // what `noteClaimed` runs on its thread, here on the test's
        // The next one waits 20 times as long as this one took (connecting alone takes milliseconds).
        XCTAssertFalse(store.vacuum.claimed(ClaimVacuum.every), "a vacuum right after the last one")
        XCTAssertEqual(Int(try check.query(count).scalar ?? "") ?? -1, before + 1)
        XCTAssertEqual(store.vacuum.counts.finished, 1)
        XCTAssertEqual(try store.status().counts.succeeded, 40)
    }
}
