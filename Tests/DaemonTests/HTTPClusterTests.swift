import Foundation
import Wire
import XCTest

/// The HTTP status page and /metrics of one node of a two-node fleet show the whole cluster from the nodes table:
/// both nodes with their state, images/s and heartbeat, both nodes' workers, and per-node gauges labelled `node`
/// beside the unchanged local series; a node that stops is shown stopped, and one forgotten by prune leaves /metrics.
final class HTTPClusterTests: XCTestCase {
    func testStatusPageAndMetricsShowEveryNodeOfTheFleet() throws {
        let fleet = try Fleet(test: self, count: 2)
        // A 3 s lease: heartbeats every second, and prune may forget a node silent for 3 s.
        let lease = ["--lease-seconds", "3"]
        try fleet.start(0, lease + ["--http", "127.0.0.1:0"])
        try fleet.start(1, lease)
        let a = fleet.nodes[0], b = fleet.nodes[1]
        let client = HTTPTestClient(port: try a.httpPort())
        XCTAssertEqual(b.ctl(["submit", "--batch", "web", "--seed", "2", "one", "two", "three", "four"]).status, 0)
        try fleet.waitFinished("web", 4)
        // Node b's row as node a reads it, once b has reported its workers idle after the batch.
        try waitUntil(timeout: 30, "both nodes reported idle") {
            let nodes = try Self.nodes(a)
            return nodes.count == 2 && nodes.allSatisfy { n in !n.workers.isEmpty && n.workers.allSatisfy { $0.state == "idle" } }
        }
        XCTAssertEqual(try Self.nodes(a).map(\.name), fleet.names)

        let index = try client.get("/").text
        for n in try Self.nodes(a) {
            XCTAssertTrue(index.contains("<tr data-node=\"\(n.name)\"><td>\(n.name)</td>"), "node \(n.name) on the page: \(index)")
            for w in n.workers {
                XCTAssertTrue(index.contains("<tr data-worker=\"\(w.id)\"><td>\(n.name)</td>"), "worker \(w.id) of \(n.name)")
            }
        }
        XCTAssertTrue(index.contains("2 node(s) up, 2 worker(s)"), index)
        XCTAssertTrue(index.contains("<th>last heartbeat</th>"))

        let m = try PrometheusText(try client.get("/metrics").text)
        for name in fleet.names {
            XCTAssertEqual(m.value("mdd_node_up", ["node": name]), 1, name)
            XCTAssertEqual(m.values("mdd_node_workers", where: ["node": name]).map(\.value).reduce(0, +), 1, "\(name): one worker")
            XCTAssertEqual(m.value("mdd_node_workers", ["node": name, "state": "idle"]), 1, name)
            XCTAssertGreaterThanOrEqual(m.value("mdd_node_heartbeat_age_seconds", ["node": name]) ?? -1, 0, name)
            XCTAssertGreaterThanOrEqual(m.value("mdd_node_images_per_second", ["node": name]) ?? -1, 0, name)
        }
        XCTAssertEqual(m.values("mdd_workers").map(\.value).reduce(0, +), 1, "mdd_workers stays this daemon's own")
        XCTAssertEqual(m.value("mdd_workers", ["state": "idle"]), 1)
        XCTAssertEqual(m.types["mdd_node_up"], "gauge")

        // Node b stops cleanly: its row says so, and node a's page and gauges follow.
        b.kill(SIGTERM)
        try b.waitForExit(try XCTUnwrap(b.process))
        try waitUntil(timeout: 30, "node b shown stopped in /metrics") {
            try PrometheusText(try client.get("/metrics").text).value("mdd_node_up", ["node": fleet.names[1]]) == 0
        }
        let stopped = try client.get("/").text
        XCTAssertTrue(stopped.contains("<tr data-node=\"\(fleet.names[1])\">") && stopped.contains("<td class=\"state\">stopped</td>"), stopped)
        XCTAssertTrue(stopped.contains("1 node(s) up, 1 worker(s)"), stopped)

        // Forgotten by prune (silent for longer than a lease): its series leave /metrics instead of lingering.
        try waitUntil(timeout: 30, "node b forgotten and gone from /metrics") {
            XCTAssertEqual(a.ctl(["prune", "--finished-before", "1s"]).status, 0)
            return try PrometheusText(try client.get("/metrics").text).values("mdd_node_up").map { $0.labels["node"] } == [fleet.names[0]]
        }
        let after = try PrometheusText(try client.get("/metrics").text)
        XCTAssertTrue(after.values("mdd_node_workers", where: ["node": fleet.names[1]]).isEmpty)
        XCTAssertFalse(try client.get("/").text.contains("data-node=\"\(fleet.names[1])\""))
    }

    private static func nodes(_ h: DaemonHarness) throws -> [NodeInfo] {
        try XCTUnwrap(try h.json(["workers"], as: WorkersReply.self).nodes)
    }
}
