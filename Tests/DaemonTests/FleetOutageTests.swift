import Foundation
import Queue
import Wire
import XCTest

/// A fleet through a PostgreSQL restart, and two nodes submitting one file at once.
final class FleetOutageTests: XCTestCase {
    /// `pg_ctl restart` mid-batch cuts every daemon's connection: each one logs the outage once and the recovery
    /// once, reconnects on its backoff, and the batch completes with nothing lost or rendered twice. A completion
    /// whose COMMIT the restart cut off is recognised as committed; a claim whose reply was lost is rescued when
    /// its (short) lease expires.
    func testPostgresRestartMidBatchEveryNodeReconnectsNothingLost() throws {
        let fleet = try Fleet(test: self, count: 3)
        for i in 0..<3 { try fleet.start(i, ["--lease-seconds", "3"]) }
        let n = 300
        let submit = try fleet.nodes[1].submitFile("restart.txt", (1...n).map { "a green triangle number \($0)" }.joined(separator: "\n"),
                                                   ["--batch", "restart", "--seed", "5"])
        XCTAssertEqual(submit.status, 0, submit.stderr)
        let store = try fleet.store()
        try waitUntil(timeout: 60, "a third of the batch rendered") { try store.status().counts.succeeded >= n / 3 }
        try store.close()
        try fleet.server.restart()
        try fleet.waitFinished("restart", n)

        for (i, h) in fleet.nodes.enumerated() {
            let health = try h.json(["health"], as: HealthReply.self)
            XCTAssertEqual(health.queueReachable, true, "\(fleet.names[i]): \(health.queueConnection ?? "nil")")
            XCTAssertEqual(health.queueConnection, "connected")
            let log = h.allLogs()
            XCTAssertEqual(log.components(separatedBy: "queue database unreachable").count - 1, 1, "\(fleet.names[i]) logs the outage once")
            XCTAssertEqual(log.components(separatedBy: "queue database reachable again").count - 1, 1, "\(fleet.names[i]) logs the recovery once")
        }
        try fleet.assertIntact("restart", n)
        XCTAssertEqual(PNGWrites.count(in: fleet.logs).filter { $0.value != 1 }, [:], "no PNG written twice")
    }

    /// A render that fails while the database is down (the node frozen with `MDD_STOP_AT=render-failed:1` at that
    /// moment, the server stopped, the node let go): the worker keeps the failure and repeats it on the store's
    /// backoff instead of dropping it, and once the server is back the failure is recorded once: failed with its
    /// error, its one attempt counted, no rescue (dropped, it waited for its lease to expire and was rendered again).
    func testAFailureDuringAnOutageIsRecordedOnceAfterReconnecting() throws {
        let fleet = try Fleet(test: self, count: 1)
        let h = fleet.nodes[0]
        let node = try fleet.start(0, [], environment: ["MDD_STOP_AT": "render-failed:1"])
        let submit = try h.submitFile("bad.jsonl", #"{"prompt": "bad size", "width": 12, "height": 12}"#, ["--batch", "outage"])
        XCTAssertEqual(submit.status, 0, submit.stderr)
        let id = try XCTUnwrap(try fleet.store().list(JobFilter(batch: "outage", limit: 10)).first?.id)
        try waitUntil(timeout: 30, "the node frozen with its render failed") { FleetPartitionTests.processState(node.processIdentifier) == "T" }
        try fleet.server.stopServer()
        var down = true
        defer { if down { try? fleet.server.startServer() } }
        kill(node.processIdentifier, SIGCONT)
        try waitUntil(timeout: 30, "the worker to hold the failure") { h.log().contains("job \(id): failed (") }
        XCTAssertTrue(h.log().contains("keeping the outcome until the queue database can record it"), h.log().suffix(1500).description)
        try fleet.server.startServer()
        down = false

        let store = try fleet.store()
        try waitUntil(timeout: 60, "the failure recorded") { try store.job(id)?.state == .failed }
        let job = try XCTUnwrap(try store.job(id))
        XCTAssertEqual(job.attempts, 1, "the failed attempt is counted once")
        XCTAssertEqual(job.rescues, 0, "recorded by its worker, not rescued after its lease expired")
        XCTAssertEqual(job.workerId?.hasPrefix(fleet.names[0] + ":"), true)
        let log = h.allLogs()
        XCTAssertTrue(log.contains("job \(id) failed: \(job.error ?? "?")"), "the recorded error is the render's: \(log.suffix(1500))")
        XCTAssertEqual(log.components(separatedBy: "job \(id) failed:").count - 1, 1, "recorded once")
        XCTAssertEqual(log.components(separatedBy: "job \(id): failed (").count - 1, 1, "held once, from the outage's start")
        let rows = try store.list(JobFilter(batch: "outage", limit: 10))
        XCTAssertEqual(rows.map(\.state), [.failed])
        let status = try h.json(["status", "--batch", "outage"], as: StatusReply.self)
        XCTAssertEqual([status.counts.failed, status.counts.running, status.counts.pending], [1, 0, 0], "the counts agree with the rows")
        let workers = try h.json(["workers"], as: WorkersReply.self)
        XCTAssertEqual(workers.workers.map(\.failed), [1], "the worker counts the failure once")
    }

    /// The same 2,000-line file submitted through two nodes at the same moment: each line is enqueued once, and
    /// the two replies together account for every line (one enqueued it, the other found it a duplicate).
    func testTwoNodesSubmittingTheSameFileAtOnceEnqueueEachLineOnce() throws {
        let fleet = try Fleet(test: self, count: 2)
        for i in 0..<2 { try fleet.start(i) }
        XCTAssertEqual(fleet.nodes[0].ctl(["pause"]).status, 0)  // only the submits are under test
        let n = 2000
        let path = fleet.nodes[0].dir + "/same.txt"
        try (1...n).map { "a yellow star number \($0)" }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        struct Summary: Decodable { let reply: SubmitReply }  // `mdctl submit --json`
        final class Replies: @unchecked Sendable { var value: [Result<SubmitReply, Error>?] = [nil, nil] }
        let replies = Replies()
        let go = DispatchSemaphore(value: 0), group = DispatchGroup()
        for i in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                go.wait()
                replies.value[i] = Result { try fleet.nodes[i].json(["submit", "-f", path, "--batch", "same", "--seed", "3"], as: Summary.self).reply }
                group.leave()
            }
        }
        go.signal(); go.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        let a = try XCTUnwrap(replies.value[0]).get(), b = try XCTUnwrap(replies.value[1]).get()
        XCTAssertEqual(a.enqueued + b.enqueued, n, "\(a) \(b)")
        XCTAssertEqual(a.duplicates + b.duplicates, n, "\(a) \(b)")
        let jobs = try fleet.store().list(JobFilter(batch: "same", limit: n + 10))
        XCTAssertEqual(jobs.count, n)
        XCTAssertEqual(Set(jobs.map(\.key)).count, n, "one row per line")
        XCTAssertEqual(Set(jobs.map(\.seed)), Set((0..<n).map { 3 + Int64($0) }), "seeds resolved once per line")
        let status = try fleet.nodes[1].json(["status", "--batch", "same"], as: StatusReply.self)
        XCTAssertEqual(status.counts.pending, n, "the counts agree with the rows")
    }
}
