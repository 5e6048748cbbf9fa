import Foundation
import PostgresTestServer
import Wire
import XCTest

/// The cluster seen through any node: the nodes table behind `mdctl workers` (heartbeats, lost and stopped nodes),
/// wake-ups by LISTEN/NOTIFY, `mdctl prune`, and `mdctl backup` refused on a PostgreSQL queue. One node on an
/// SQLite queue goes through the same code path.
final class FleetNodesTests: XCTestCase {
    private func postgres() throws -> TestPostgres { try Fleet.server(for: self) }

    private func nodes(_ h: DaemonHarness) throws -> [NodeInfo] {
        try XCTUnwrap(try h.json(["workers"], as: WorkersReply.self).nodes, "a daemon with the nodes table lists nodes")
    }

    private func node(_ h: DaemonHarness, _ name: String) throws -> NodeInfo? { try nodes(h).first { $0.name == name } }

    func testAnyNodeListsTheClusterWakesOnNotifyPrunesAndSeesLostAndStoppedNodes() throws {
        let url = try postgres().createDatabase()
        let a = try DaemonHarness(test: self), b = try DaemonHarness(test: self)
        let shared = a.dir + "/shared-outputs"
        // A 3 s lease: heartbeats every second, and a node silent for 3 s is lost.
        let args = { (node: String) in ["--queue", url, "--output-dir", shared, "--node", node, "--lease-seconds", "3"] }
        try a.start(args("node-a"))
        try b.start(args("node-b"))

        try waitUntil(timeout: 30, "node-a to see node-b's heartbeat") { try node(a, "node-b") != nil }
        let listed = try nodes(a)
        XCTAssertEqual(listed.map(\.name), ["node-a", "node-b"])
        XCTAssertEqual(listed.map(\.lost), [false, false])
        XCTAssertEqual(listed.map { $0.workers.count }, [1, 1], "one worker each, with its node")
        XCTAssertEqual(Set(listed.map(\.pid)), Set([a.process, b.process].compactMap { $0?.processIdentifier }))
        XCTAssertTrue(a.ctl(["workers"]).stdout.contains("node-b"), "the table lists the other node")
        XCTAssertEqual(try a.json(["status"], as: StatusReply.self).workers, 2, "status counts the cluster's workers")

        // A submit through node-a wakes node-b by notification, counted by node-b (not inferred from timing).
        let before = try XCTUnwrap(try b.json(["health"], as: HealthReply.self).notificationWakeups)
        XCTAssertEqual(try b.json(["health"], as: HealthReply.self).listening, true)
        XCTAssertEqual(a.ctl(["submit", "a red circle", "--batch", "woken"]).status, 0)
        try waitUntil(timeout: 30, "node-b to be woken by NOTIFY") {
            try b.json(["health"], as: HealthReply.self).notificationWakeups ?? 0 > before
        }
        XCTAssertEqual(b.ctl(["wait", "--batch", "woken", "--quiet", "--timeout", "120"]).status, 0)

        // Prune through node-b acts on the shared queue; status through node-a sees it.
        XCTAssertEqual(try b.json(["prune", "--batch", "woken", "--dry-run"], as: PruneReply.self), PruneReply(removed: 1, dryRun: true))
        XCTAssertEqual(try b.json(["prune", "--batch", "woken"], as: PruneReply.self), PruneReply(removed: 1, dryRun: false))
        XCTAssertEqual(try a.json(["status", "--batch", "woken"], as: StatusReply.self).counts.total, 0)
        let pngs = FileManager.default.enumerator(atPath: shared)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".png") } ?? []
        XCTAssertEqual(pngs.count, 1, "prune leaves the PNG files")

        let backup = a.ctl(["backup", "-o", a.dir + "/copy.sqlite"])
        XCTAssertEqual(backup.status, 5, backup.stderr)
        XCTAssertTrue(backup.stderr.contains("pg_dump"), backup.stderr)

        // Killed: no heartbeat, no clean stop → lost once a lease passes.
        b.kill(SIGKILL)
        try waitUntil(timeout: 30, "node-a to show node-b lost") { try node(a, "node-b")?.lost == true }
        XCTAssertTrue(a.ctl(["workers"]).stdout.contains("LOST"))
        XCTAssertEqual(try a.json(["status"], as: StatusReply.self).workers, 1, "a lost node's workers are not counted")
        XCTAssertEqual(try a.json(["prune", "--finished-before", "0s", "--dry-run"], as: PruneReply.self).nodesRemoved, 1,
                       "prune would forget the lost node (silent for more than a lease), not the live one")

        // Restarted under the same name it replaces its row; a graceful stop leaves it stopped, not lost.
        try b.start(args("node-b"))
        try waitUntil(timeout: 30, "node-b back") { try node(a, "node-b").map { !$0.lost && $0.pid == b.process?.processIdentifier } ?? false }
        XCTAssertEqual(b.ctl(["shutdown"]).status, 0)
        try b.waitForExit(try XCTUnwrap(b.process))
        let stopped = try XCTUnwrap(try node(a, "node-b"))
        XCTAssertEqual([stopped.state], ["stopped"])
        XCTAssertFalse(stopped.lost)
        XCTAssertEqual(stopped.workers.map(\.state), ["stopped"])
    }

    func testTwoDaemonsUnderOneNodeNameAreWarnedAbout() throws {
        let url = try postgres().createDatabase()
        let a = try DaemonHarness(test: self), b = try DaemonHarness(test: self)
        for h in [a, b] { try h.start(["--queue", url, "--output-dir", a.dir + "/out", "--node", "twin", "--lease-seconds", "3"]) }
        try waitUntil(timeout: 30, "a daemon to notice the other under its name") {
            (a.log() + b.log()).contains("also reports as node 'twin'; give each daemon its own --node")
        }
    }

    func testSQLiteQueueListsItsOneNodeAndPrunes() throws {
        let h = try DaemonHarness(test: self)
        try h.start(["--node", "solo"])
        let listed = try nodes(h)
        XCTAssertEqual(listed.map(\.name), ["solo"])
        XCTAssertEqual(listed.first?.workers.count, 1)
        XCTAssertNil(try h.json(["health"], as: HealthReply.self).notificationWakeups, "no LISTEN on SQLite")

        XCTAssertEqual(h.ctl(["submit", "a", "b", "--batch", "done"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "done", "--quiet", "--timeout", "120"]).status, 0)
        XCTAssertEqual(try h.json(["prune", "--finished-before", "1h"], as: PruneReply.self), PruneReply(removed: 0, dryRun: false, nodesRemoved: 0),
                       "finished seconds ago; the node beats")
        XCTAssertEqual(try h.json(["prune", "--batch", "done"], as: PruneReply.self).removed, 2)
        XCTAssertEqual(try h.json(["status"], as: StatusReply.self).counts.total, 0)
        XCTAssertEqual(try h.json(["prune", "--finished-before", "0s"], as: PruneReply.self).nodesRemoved, 0, "a live node is never forgotten")

        let usage = h.ctl(["prune"])
        XCTAssertEqual(usage.status, 64, usage.stderr)
        XCTAssertTrue(usage.stderr.contains("--finished-before"), usage.stderr)
        XCTAssertEqual(h.ctl(["prune", "--finished-before", "7 days"]).status, 64)
        XCTAssertEqual(h.ctl(["prune", "--batch", "nope"]).status, 4, "unknown batch: not found")
    }
}
