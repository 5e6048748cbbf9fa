import Foundation
import XCTest
@testable import Queue
import PostgresTestServer

/// The PostgreSQL wake-ups: submit, retry and resume notify a LISTENing connection after they commit; a LISTEN
/// connection the server drops is reported `unavailable` (the daemon polls meanwhile) and then reopened.
final class PGListenerTests: XCTestCase {
    private func url() throws -> String { try postgresServer().createDatabase() }

    /// Waits up to `tries` times for a wake other than a timeout.
    private func next(_ l: any QueueWakeSource, tries: Int = 20) -> QueueWake {
        for _ in 0..<tries {
            let w = l.wait(timeout: 1)
            if w != .timedOut { return w }
        }
        return .timedOut
    }

    func testSubmitRetryAndResumeNotifyOnlyWhenSomethingBecameClaimable() throws {
        let url = try url()
        let store = try PostgresJobStore(url: url)
        let listener = try XCTUnwrap(try store.wakeSource())
        defer { listener.close() }
        XCTAssertEqual(listener.wait(timeout: 0), .timedOut)

        _ = try store.submit(batch: BatchSpec(name: "n", maxAttempts: 1), jobs: [JobSpec(prompt: "a")])
        XCTAssertEqual(next(listener), .notified(1), "submit")
        _ = try store.submit(batch: BatchSpec(name: "n", maxAttempts: 1), jobs: [JobSpec(prompt: "a")])  // a duplicate: nothing new
        XCTAssertEqual(listener.wait(timeout: 0.3), .timedOut, "a resubmit that enqueues nothing wakes no one")

        let lease = try XCTUnwrap(try store.claim(worker: "w"))
        XCTAssertEqual(try store.fail(lease, error: "x", retryable: false), .failed)
        XCTAssertEqual(try store.retry(.all), 1)
        XCTAssertEqual(next(listener), .notified(1), "retry")
        try store.setPaused(true)
        XCTAssertEqual(listener.wait(timeout: 0.3), .timedOut, "pausing wakes no one")
        try store.setPaused(false)
        XCTAssertEqual(next(listener), .notified(1), "resume")
    }

    func testADroppedListenConnectionIsReportedThenReopened() throws {
        let url = try url()
        let store = try PostgresJobStore(url: url)
        let listener = try PGListener(conninfo: url, location: "test", retrySeconds: 0)
        defer { listener.close() }
        let killed = try store.db.query("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN \(PGListener.channel)'
            """).rows.count
        XCTAssertEqual(killed, 1, "the listener's backend")
        guard case .unavailable = next(listener) else { return XCTFail("a dropped LISTEN connection must be reported") }
        XCTAssertEqual(listener.wait(timeout: 1), .reconnected)
        _ = try store.submit(batch: BatchSpec(name: "after"), jobs: [JobSpec(prompt: "a")])
        XCTAssertEqual(next(listener), .notified(1), "listening again after the reconnect")
    }
}
