import Foundation
@testable import Queue
import Wire
import XCTest

/// The control plane of a fleet node while one of its workers is stuck in a statement on the server.
final class FleetLockWaitTests: XCTestCase {
    /// The node's one worker renders a job and is frozen (`MDD_STOP_AT=rendered:1`) while the test, from a
    /// connection of its own, takes the job's row lock in an open transaction (as an operator's psql might); let go,
    /// the worker's completion waits on the server for that lock. `status`, `ls` and `show` through the node's
    /// socket answer meanwhile (they read on the store's control connection), asserted while the worker is still
    /// waiting; once the lock is released the completion goes through.
    func testStatusLsAndShowAnswerWhileAWorkerWaitsOnARowLock() throws {
        let fleet = try Fleet(test: self, count: 1)
        let h = fleet.nodes[0]
        // A statement timeout far beyond the test's deadlines: the worker stays blocked until the test lets it go.
        let node = try fleet.start(0, ["--queue-statement-timeout", "600"], environment: ["MDD_STOP_AT": "rendered:1"])
        XCTAssertEqual(h.ctl(["submit", "--batch", "locked", "--seed", "4", "a blue square"]).status, 0)
        try waitUntil(timeout: 30, "the node frozen with its render in memory") { FleetPartitionTests.processState(node.processIdentifier) == "T" }
        let id = try XCTUnwrap(try fleet.store().list(JobFilter(batch: "locked", limit: 10)).first?.id)
        let blocker = try PGConnection(conninfo: fleet.url, location: "blocker")
        try blocker.query("BEGIN")
        try blocker.query("SELECT id FROM jobs WHERE id = $1::bigint FOR UPDATE", [String(id)])
        var held = true
        defer { if held { _ = try? blocker.query("ROLLBACK") } }
        kill(node.processIdentifier, SIGCONT)
        try waitUntil(timeout: 30, "the worker's statement waiting for the row lock") { try Self.lockWaiters(blocker) >= 1 }

        // Each call runs off this thread with a deadline, so that a control plane stuck behind the worker fails the
        // test instead of hanging it (the lock is only released below).
        let status = try Self.answer(within: 60) { try h.json(["status", "--batch", "locked"], as: StatusReply.self) }
        XCTAssertEqual(status.counts.running, 1, "the job is still running: its completion waits")
        let list = try Self.answer(within: 60) { try h.json(["ls", "--batch", "locked"], as: ListReply.self) }
        XCTAssertEqual(list.jobs.map(\.id), [id])
        let shown = try Self.answer(within: 60) { try h.json(["show", String(id)], as: JobInfo.self) }
        XCTAssertEqual(shown.state, "running")
        XCTAssertGreaterThanOrEqual(try Self.lockWaiters(blocker), 1, "the worker was still blocked when they answered")

        try blocker.query("ROLLBACK")
        held = false
        try fleet.waitFinished("locked", 1)
        XCTAssertEqual(try fleet.store().job(id)?.state, .succeeded)
        XCTAssertEqual(try fleet.store().job(id)?.attempts, 1)
    }

    /// Statements of the fleet's database waiting for a lock.
    static func lockWaiters(_ c: PGConnection) throws -> Int {
        Int(try c.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").scalar ?? "0") ?? 0
    }

    /// `body`'s result, run on another thread; an error if it takes longer than `seconds`.
    static func answer<T>(within seconds: Double, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            box.result = Result { try body() }
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success, let result = box.result else {
            throw HarnessError("no answer within \(seconds) s while a worker waits on a lock")
        }
        return try result.get()
    }
}

/// The result of a call made on another thread.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
