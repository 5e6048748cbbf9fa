import Foundation
import XCTest
@testable import Queue
import PostgresTestServer

/// The PostgreSQL store's two connections (work and control): reads answer while a write waits on a lock held
/// elsewhere, the statement timeout ends such a wait with a clear error, and a server restart found by both
/// connections is one outage, reported once.
final class PostgresConnectionsTests: XCTestCase {
    private func server() throws -> TestPostgres { try postgresServer() }

    /// A store with one claimed job, and a connection of the test's own (another client, as an operator's psql
    /// would be) holding that job's row lock in an open transaction.
    private func heldJob(_ options: QueueOptions = QueueOptions()) throws -> (PostgresJobStore, Lease, PGConnection) {
        let url = try server().createDatabase()
        let store = try PostgresJobStore(url: url, options: options)
        _ = try store.submit(batch: BatchSpec(name: "locks"), jobs: [JobSpec(prompt: "a"), JobSpec(prompt: "b")])
        let lease = try XCTUnwrap(try store.claim(worker: "w"))
        let blocker = try PGConnection(conninfo: url, location: "blocker")
        try blocker.query("BEGIN")
        try blocker.query("SELECT id FROM jobs WHERE id = $1::bigint FOR UPDATE", [String(lease.job.id)])
        return (store, lease, blocker)
    }

    /// Statements of the test's database waiting for a lock (seen from the blocker's connection).
    private func lockWaiters(_ c: PGConnection) throws -> Int {
        Int(try c.query("""
            SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            """).scalar ?? "0") ?? 0
    }

    func testReadsAnswerWhileAWriteWaitsOnARowLock() throws {
        let (store, lease, blocker) = try heldJob()
        let renewed = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? store.heartbeat(lease)  // waits on the server for the blocker's row lock
            renewed.signal()
        }
        try waitUntil("the heartbeat waiting for the row lock") { try lockWaiters(blocker) == 1 }
        XCTAssertEqual(try store.status().counts.running, 1)
        XCTAssertEqual(try store.job(lease.job.id)?.state, .running)
        XCTAssertEqual(try store.list(JobFilter(batch: "locks", limit: 10)).count, 2)
        XCTAssertEqual(try store.stats().remaining, 2)
        XCTAssertEqual(try store.isPaused(), false)
        XCTAssertEqual(try store.nodes().count, 0)
        // The reads above answered while the write still waited: the condition, not a time.
        XCTAssertEqual(renewed.wait(timeout: .now()), .timedOut, "the heartbeat was still blocked")
        XCTAssertEqual(try lockWaiters(blocker), 1)
        try blocker.query("ROLLBACK")
        XCTAssertEqual(renewed.wait(timeout: .now() + 30), .success, "the heartbeat went through once the lock was released")
        try store.complete(lease, output: JobOutput(path: "/o/1.png", sha256: "x", timings: JobTimings(textMs: 1, unetMs: 1, decodeMs: 1, pngMs: 1, totalMs: 4)))
        XCTAssertEqual(try store.status().counts.succeeded, 1)
    }

    func testAStatementBlockedPastTheTimeoutFailsWithAClearError() throws {
        var options = QueueOptions()
        options.statementTimeoutSeconds = 0.5
        let (store, lease, blocker) = try heldJob(options)
        // On a thread with a deadline: without the timeout the renewal would wait for the lock until the blocker
        // lets go, which it does below either way.
        final class Outcome: @unchecked Sendable { var result: Result<Void, Error>? }
        let outcome = Outcome(), done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            outcome.result = Result { try store.heartbeat(lease) }
            done.signal()
        }
        let ended = done.wait(timeout: .now() + 30)
        try blocker.query("ROLLBACK")
        XCTAssertEqual(ended, .success, "the blocked statement was ended by the timeout")
        if ended == .timedOut { _ = done.wait(timeout: .now() + 30) }  // let go by the ROLLBACK
        XCTAssertThrowsError(try XCTUnwrap(outcome.result).get()) { error in
            guard case let QueueError.statementTimeout(_, seconds, sql) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(seconds, 0.5)
            XCTAssertTrue(sql.hasPrefix("UPDATE jobs SET lease_expires_at"), sql)
            XCTAssertTrue("\(error)".contains("ran longer than the statement timeout (0.5 s) and was canceled"), "\(error)")
            XCTAssertTrue((error as? QueueError)?.isStatementTimeout ?? false)
            XCTAssertFalse((error as? QueueError)?.isConnectionLost ?? true, "the connection stays; only the statement ended")
        }
        try store.heartbeat(lease)  // the timed-out transaction was rolled back; the connection goes on
        XCTAssertTrue(store.connectivity.reachable)
    }

    func testARestartFoundByBothConnectionsIsOneOutage() throws {
        let server = try server()
        let store = try PostgresJobStore(url: server.createDatabase())
        _ = try store.submit(batch: BatchSpec(name: "r"), jobs: [JobSpec(prompt: "a"), JobSpec(prompt: "b")])
        final class Changes: @unchecked Sendable {
            let lock = NSLock()
            var seen: [Bool] = []
        }
        let changes = Changes()
        store.onConnectivityChange { s in changes.lock.withLock { changes.seen.append(s.reachable) } }
        try server.restart()
        XCTAssertEqual(try store.status().counts.pending, 2, "the control connection finds the break and redials")
        XCTAssertNotNil(try store.claim(worker: "w"), "the work connection, broken by the same restart, redials")
        XCTAssertEqual(changes.lock.withLock { changes.seen }, [false, true], "lost once, regained once")
        try store.close()
        XCTAssertThrowsError(try store.status()) { guard case QueueError.closed = $0 else { return XCTFail("\($0)") } }
        XCTAssertThrowsError(try store.claim(worker: "w")) { guard case QueueError.closed = $0 else { return XCTFail("\($0)") } }
    }

    /// The rule behind one report per outage, on the backoff alone: the first break reports; a break found on a
    /// connection made before the last recovery does not; a break of a connection made after it is a new outage.
    func testABreakOlderThanTheLastRecoveryIsNotANewOutage() {
        let backoff = ReconnectBackoff()
        let before = Date()
        backoff.broken("server closed the connection", connectedAt: before)
        XCTAssertFalse(backoff.connectivity.reachable)
        XCTAssertNil(backoff.waitBeforeAttempt(), "the first redial is immediate")
        backoff.broken("another connection, same outage", connectedAt: before)
        XCTAssertEqual(backoff.connectivity.failedAttempts, 0, "a second break is no failed attempt")
        backoff.succeeded()
        backoff.broken("found late on an idle connection", connectedAt: before)
        XCTAssertTrue(backoff.connectivity.reachable, "that outage is over")
        backoff.broken("a new outage", connectedAt: Date())
        XCTAssertFalse(backoff.connectivity.reachable)
        backoff.failed("connection refused")
        XCTAssertNotNil(backoff.waitBeforeAttempt(), "failed redials are paced")
    }

    private func waitUntil(_ what: String, timeout: Double = 30, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        throw TimedOut(what: what)
    }

    private struct TimedOut: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }
}
