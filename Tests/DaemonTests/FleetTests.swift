import Foundation
import PostgresTestServer
import Wire
import XCTest

/// Several `mdd serve` processes on one PostgreSQL queue and one shared output folder (`--queue`, `--output-dir`,
/// `--node`): a batch submitted through one node is rendered exactly once across all, and any node's socket
/// answers for the whole batch.
final class FleetTests: XCTestCase {
    func testTwoDaemonsRenderOneBatchExactlyOnce() throws {
        let server = try Fleet.server(for: self)
        let url = try server.createDatabase()
        let a = try DaemonHarness(test: self), b = try DaemonHarness(test: self)
        let shared = a.dir + "/shared-outputs"
        for (h, node) in [(a, "node-a"), (b, "node-b")] {
            try h.start(["--queue", url, "--output-dir", shared, "--node", node])
        }
        let n = 200  // a few seconds of work: the idle node polls every second (no LISTEN/NOTIFY yet)
        let submit = try a.submitFile("fleet.txt", (1...n).map { "a blue square number \($0)" }.joined(separator: "\n"),
                                      ["--batch", "fleet", "--seed", "7"])
        XCTAssertEqual(submit.status, 0, submit.stderr)
        let wait = b.ctl(["wait", "--batch", "fleet", "--quiet", "--timeout", "180"])
        XCTAssertEqual(wait.status, 0, "wait through the other node: \(wait.stderr)\n\(a.log().suffix(800))\n\(b.log().suffix(800))")

        for h in [a, b] {
            let status = try h.json(["status", "--batch", "fleet"], as: StatusReply.self)
            XCTAssertEqual(status.counts.succeeded, n, "status through \(h.socket)")
        }
        let jobs = try b.json(["ls", "--batch", "fleet", "--limit", "1000"], as: ListReply.self).jobs
        XCTAssertEqual(jobs.count, n)
        XCTAssertEqual(jobs.filter { $0.attempts != 1 }.map(\.id), [], "every job rendered once")
        let nodes = Set(jobs.compactMap { $0.workerId?.split(separator: ":").first.map(String.init) })
        XCTAssertEqual(nodes, ["node-a", "node-b"], "both nodes rendered")

        let rows = a.ctl(["export", "--batch", "fleet", "--format", "jsonl"]).stdout.split(separator: "\n")
        XCTAssertEqual(rows.count, n)
        for line in rows {
            let row = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let path = try XCTUnwrap(row["path"] as? String)
            XCTAssertTrue(path.hasPrefix(shared), path)
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
            XCTAssertTrue(["node-a", "node-b"].contains(row["node"] as? String ?? ""), "manifest node: \(row)")
        }
        let pngs = FileManager.default.enumerator(atPath: shared)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".png") } ?? []
        XCTAssertEqual(pngs.count, n, "one file per job in the shared folder")
    }

    func testPasswordInTheQueueURLIsRefusedBeforeStart() throws {
        let h = try DaemonHarness(test: self)
        let r = h.mdd(["serve", "--state-dir", h.stateDir, "--socket", h.socket, "--queue", "postgresql://mdd:hunter2@db/mdd"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("PGPASSWORD"), r.stderr)
        XCTAssertFalse(r.stderr.contains("hunter2"), r.stderr)
    }
}
