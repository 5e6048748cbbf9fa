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
