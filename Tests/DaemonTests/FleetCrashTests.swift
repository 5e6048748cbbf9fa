import Foundation
import Queue
import XCTest

/// Three daemons on one PostgreSQL queue and one shared output folder, SIGKILLed at named points (`MDD_KILL_AT`)
/// while they render one 300-job batch, and restarted: nothing lost, nothing rendered twice, every file matches.
final class FleetCrashTests: XCTestCase {
    func testThreeNodesKilledAtFivePointsLoseAndDuplicateNothing() throws {
        let fleet = try Fleet(test: self, count: 3)
        let store = try fleet.store()
        // Each node's kills in order; a node restarts with its next one, then without. The five points:
        // a claim committed (the job held, nothing rendered), a render in memory (nothing written), a PNG durable at
        // its path before its completion commits (twice), and a completion committed (the next job rendering).
        let plans = [["claim:8", "rendered:10"], ["png-renamed:12", "png-renamed:5"], ["complete:15"]]
        var next = [1, 1, 1]
        var procs = try (0..<3).map { try fleet.start($0, environment: ["MDD_KILL_AT": plans[$0][0]]) }
        let n = 300
        let submit = try fleet.nodes[0].submitFile("crash.txt", (1...n).map { "a red circle number \($0)" }.joined(separator: "\n"),
                                                   ["--batch", "crash", "--seed", "11"])
        XCTAssertEqual(submit.status, 0, submit.stderr)

        var kills = 0
        try waitUntil(timeout: 120, "the batch to finish through five kills") {
            for i in 0..<3 where !procs[i].isRunning {
                procs[i].waitUntilExit()
                XCTAssertEqual(procs[i].terminationReason, .uncaughtSignal, "\(fleet.names[i]) was killed, not exited: \(fleet.nodes[i].log().suffix(800))")
                kills += 1
                let env = next[i] < plans[i].count ? ["MDD_KILL_AT": plans[i][next[i]]] : [:]
                next[i] += 1
                // The queue is paused while the node starts: it could reach its next point before answering `health`.
                try store.setPaused(true)
                procs[i] = try fleet.start(i, environment: env)
                try store.setPaused(false)
            }
            return try store.status().counts.succeeded == n
        }
        XCTAssertEqual(kills, 5, "every planned kill point was reached")
        let jobs = try fleet.assertIntact("crash", n)
        // Each kill left one job leased to a dead worker, rescued by the restarted node (start-up recovery).
        XCTAssertGreaterThanOrEqual(jobs.map(\.rescues).reduce(0, +), 5, "rescues")
        let log = fleet.logs
        let writes = PNGWrites.count(in: log)
        XCTAssertEqual(Set(writes.keys), Set(jobs.map(\.id)), "every job's PNG was written")
        XCTAssertEqual(writes.filter { $0.value != 1 }, [:], "no PNG written twice: a PNG left by a kill is reused")
        XCTAssertGreaterThanOrEqual(log.components(separatedBy: "reusing output written before a crash").count - 1, 2,
                                    "both png-renamed kills left a PNG that another attempt reused")
        let nodes = Set(jobs.compactMap { $0.workerId?.split(separator: ":").first.map(String.init) })
        XCTAssertEqual(nodes, Set(fleet.names), "every node rendered")
    }
}
