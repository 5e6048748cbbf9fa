import Foundation
import Queue
import Wire
import XCTest

/// A node cut off from the database mid-job by the network: two daemons, each in a network namespace of the
/// test's own, reach the test's PostgreSQL over TCP through a veth pair; one link is taken down.
final class FleetPartitionTests: XCTestCase {
    /// Node a holds the batch's one job, rendered in memory, when its link goes down. (It is frozen there with
    /// `MDD_STOP_AT=rendered:1` so that the cut lands at that exact moment, then let go with SIGCONT while still cut
    /// off: the partition itself is a real one.) Its lease expires on the database's clock, node b rescues the job,
    /// renders and records it. Node a, let go, finds b's file at the path and keeps it rather than replacing it,
    /// holds its result while the database is out of reach (health says so), and once the link is back its
    /// completion is refused: the recorded file still has the recorded SHA-256, written once.
    func testCutOffNodeCannotCompleteLateAndLeavesTheRecordedFileAlone() throws {
        if let why = TestNetwork.unavailable {
            print("SKIP (no network namespaces): \(name): \(why)")
            throw XCTSkip("no network namespaces: \(why)")
        }
        let server = try Fleet.server(for: self)
        let net = TestNetwork(test: self)
        let a = try net.add(), b = try net.add()
        try server.listen(on: [a.hostAddress, b.hostAddress], trusting: "\(net.prefix).0.0/16")
        let fleet = try Fleet(test: self, count: 2)
        let database = fleet.url.split(separator: "?")[0].split(separator: "/").last.map(String.init) ?? ""
        let tcp = { (l: TestNetwork.Link) in "postgresql://postgres@\(l.hostAddress):\(server.port)/\(database)" }
        let lease = ["--lease-seconds", "3"]

        // Different precisions, so that the two nodes' bytes differ (as on different CPUs): a late node that judged
        // the other's render stale and replaced it would change the recorded file (caught once, when `auto` chose
        // differently on the two nodes).
        let nodeA = try fleet.start(0, lease + ["--precision", "fp32"], environment: ["MDD_STOP_AT": "rendered:1"], queue: tcp(a), launcher: a.launcher)
        XCTAssertEqual(fleet.nodes[0].ctl(["submit", "--batch", "part", "--seed", "9", "a purple hexagon"]).status, 0)
        try waitUntil(timeout: 30, "node a frozen with its render in memory") { Self.processState(nodeA.processIdentifier) == "T" }
        try net.set(a, up: false)

        try fleet.start(1, lease + ["--precision", "bf16"], queue: tcp(b), launcher: b.launcher)
        let store = try fleet.store()
        func job() throws -> Job { try XCTUnwrap(try store.list(JobFilter(batch: "part")).first) }
        try waitUntil(timeout: 40, "node b to finish the job once a's lease expired") { try job().state == .succeeded }
        let recorded = try job()
        XCTAssertEqual(recorded.workerId?.hasPrefix("node-b:"), true, "\(recorded.workerId ?? "nil")")
        XCTAssertEqual(recorded.rescues, 1, "rescued from node a once its lease expired")
        let path = try XCTUnwrap(recorded.outputPath), sha = try XCTUnwrap(recorded.outputSHA256)

        kill(nodeA.processIdentifier, SIGCONT)
        try waitUntil(timeout: 40, "node a to report the queue out of reach") {
            (try? fleet.nodes[0].json(["health"], as: HealthReply.self))?.queueReachable == false
        }
        XCTAssertTrue(fleet.nodes[0].log().contains("job \(recorded.id): a render of this job was already at \(path)"),
                      "node a replaced b's file instead of keeping it: \(fleet.nodes[0].log().suffix(1500))\n-- node b: \(fleet.nodes[1].log().suffix(1500))")
        XCTAssertEqual(FileManager.default.contents(atPath: path).map(SHA256Hex.of), sha, "the file while a is cut off")

        try net.set(a, up: true)
        try waitUntil(timeout: 40, "node a's late completion to be refused") {
            fleet.nodes[0].log().contains("job \(recorded.id): lease lost before completion")
        }
        let health = try fleet.nodes[0].json(["health"], as: HealthReply.self)
        XCTAssertEqual(health.queueConnection, "connected", "node a reconnected")
        let after = try job()
        XCTAssertEqual(after.state, .succeeded)
        XCTAssertEqual(after.workerId, recorded.workerId, "still node b's")
        XCTAssertEqual(after.outputSHA256, sha)
        XCTAssertEqual(after.attempts, 1, "a's expired attempt was refunded")
        XCTAssertEqual(FileManager.default.contents(atPath: path).map(SHA256Hex.of), sha, "the recorded file is b's")
        XCTAssertEqual(PNGWrites.count(in: fleet.logs), [recorded.id: 1], "written once, by node b")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: fleet.shared + "/part")) ?? []
        XCTAssertEqual(left.filter { $0.hasSuffix(".tmp") }, [], "no temp files left")
        let logA = fleet.nodes[0].log()
        XCTAssertEqual(logA.components(separatedBy: "queue database unreachable").count - 1, 1, "the outage logged once")
        XCTAssertEqual(logA.components(separatedBy: "queue database reachable again").count - 1, 1, "the recovery logged once")
    }

    /// The state letter of /proc/PID/stat ("T" while stopped).
    static func processState(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }
}
