import Foundation
import Wire
import XCTest

/// `mdd serve --http`: /metrics checked against the queue after a real batch, and the listener's guards
/// (loopback unless a token file, bearer token, GET/HEAD only).
final class HTTPMetricsTests: XCTestCase {
    func testMetricsMatchTheQueueAfterABatch() throws {
        let h = try DaemonHarness(test: self)
        try h.start(["--http", "127.0.0.1:0"])
        let client = HTTPTestClient(port: try h.httpPort())
        XCTAssertEqual(h.ctl(["submit", "one", "two", "three", "four", "five", "--batch", "m", "--seed", "7"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "m", "--quiet", "--timeout", "60"]).status, 0)
        XCTAssertEqual(h.ctl(["pause"]).status, 0)
        XCTAssertEqual(h.ctl(["submit", "held", "--batch", "later"]).status, 0)
        // A worker reports "idle" once its settle thread is done and its next claim finds nothing: by then the
        // last job's commit and its metrics (recorded just after the commit) are both in.
        try waitUntil(timeout: 30, "the worker to go idle") { try h.json(["workers"], as: WorkersReply.self).workers.allSatisfy { $0.state == "idle" } }

        let r = try client.get("/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        let m = try PrometheusText(r.text)
        let status = try h.json(["status"], as: StatusReply.self)
        XCTAssertEqual(m.value("mdd_jobs_finished_total", ["outcome": "succeeded"]), Double(status.counts.succeeded))
        XCTAssertEqual(status.counts.succeeded, 5)
        XCTAssertEqual(m.value("mdd_jobs_finished_total", ["outcome": "failed"]), 0)
        XCTAssertEqual(m.value("mdd_jobs_submitted_total"), 6)
        XCTAssertEqual(m.value("mdd_jobs", ["state": "paused"]), 1, "the held job counts as paused, not pending")
        XCTAssertEqual(m.value("mdd_jobs", ["state": "pending"]), 0)
        XCTAssertGreaterThanOrEqual(m.value("mdd_queue_oldest_pending_age_seconds") ?? -1, 0)
        XCTAssertEqual(m.value("mdd_workers", ["state": "idle"]), 1)
        let node = try XCTUnwrap(try h.json(["workers"], as: WorkersReply.self).nodes?.first?.name)
        XCTAssertEqual(m.values("mdd_node_up").map { $0.labels["node"] }, [node], "the one node of an SQLite queue")
        XCTAssertEqual(m.value("mdd_node_up", ["node": node]), 1)
        XCTAssertEqual(m.value("mdd_node_workers", ["node": node, "state": "idle"]), 1)
        XCTAssertEqual(m.types["mdd_job_stage_seconds"], "histogram")
        for stage in ["queue_wait", "text", "unet", "decode", "png", "total"] {
            try checkHistogram(m, stage: stage, observations: 5)
        }
        let info = try XCTUnwrap(m.values("mdd_build_info").first)
        XCTAssertEqual(info.labels["model"], "md8-tiny")
        XCTAssertEqual(info.labels["model_sha256"]?.count, 64)
        XCTAssertFalse(m.samples.contains { $0.labels["batch"] != nil || $0.labels["prompt"] != nil }, "no unbounded labels")

        XCTAssertTrue(h.ctl(["cancel", "--batch", "later"]).stdout.contains("canceled 1"))
        XCTAssertEqual(try PrometheusText(try client.get("/metrics").text).value("mdd_jobs_finished_total", ["outcome": "canceled"]), 1)
    }

    /// `_count` equals the observations, buckets run from 1 ms to 10 min and never decrease, `+Inf` equals `_count`.
    private func checkHistogram(_ m: PrometheusText, stage: String, observations: Double) throws {
        let buckets = m.values("mdd_job_stage_seconds_bucket", where: ["stage": stage])
            .map { (le: Double($0.labels["le"]?.replacingOccurrences(of: "+Inf", with: "inf") ?? "") ?? .nan, count: $0.value) }
            .sorted { $0.le < $1.le }
        XCTAssertEqual(m.value("mdd_job_stage_seconds_count", ["stage": stage]), observations, stage)
        XCTAssertEqual(buckets.first?.le, 0.001, stage)
        XCTAssertEqual(buckets.dropLast().last?.le, 600, stage)
        XCTAssertEqual(buckets.last?.le, .infinity, stage)
        XCTAssertEqual(buckets.last?.count, observations, stage)
        XCTAssertTrue(zip(buckets, buckets.dropFirst()).allSatisfy { $0.count <= $1.count }, "\(stage) buckets monotone: \(buckets)")
        XCTAssertGreaterThanOrEqual(m.value("mdd_job_stage_seconds_sum", ["stage": stage]) ?? -1, 0, stage)
    }

    func testNonLoopbackBindNeedsAPrivateTokenFile() throws {
        let h = try DaemonHarness(test: self)
        let base = ["serve", "--state-dir", h.stateDir, "--socket", h.socket, "--model", h.model, "--workers", "1"]
        let open = h.mdd(base + ["--http", "0.0.0.0:0"])
        XCTAssertNotEqual(open.status, 0)
        XCTAssertTrue(open.stderr.contains("http_token_file"), open.stderr)

        let token = h.dir + "/token"
        try "0123456789abcdef0123\n".write(toFile: token, atomically: true, encoding: .utf8)
        chmod(token, 0o640)
        let readable = h.mdd(base + ["--http", "0.0.0.0:0", "--http-token-file", token])
        XCTAssertNotEqual(readable.status, 0)
        XCTAssertTrue(readable.stderr.contains("group or others"), readable.stderr)

        let config = h.dir + "/mdd.json"
        try #"{"http": "0.0.0.0:0"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let fromConfig = h.mdd(base + ["--config", config])
        XCTAssertNotEqual(fromConfig.status, 0, "the config key 'http' is checked the same way")
        XCTAssertTrue(fromConfig.stderr.contains("http_token_file"), fromConfig.stderr)

        let bad = h.mdd(base + ["--http", "nonsense"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("HOST:PORT"), bad.stderr)
    }

    func testTokenIsRequiredWhenConfigured() throws {
        let h = try DaemonHarness(test: self)
        let token = h.dir + "/token"
        try "s3cret-token-0123456789\n".write(toFile: token, atomically: true, encoding: .utf8)
        chmod(token, 0o600)
        try h.start(["--http", "127.0.0.1:0", "--http-token-file", token])
        let client = HTTPTestClient(port: try h.httpPort())
        XCTAssertEqual(try client.get("/metrics").status, 401)
        XCTAssertEqual(try client.get("/metrics", headers: ["Authorization": "Bearer wrong-token-0123456789"]).status, 401)
        XCTAssertEqual(try client.get("/metrics", headers: ["Authorization": "Basic czNjcmV0"]).status, 401)
        XCTAssertEqual(try client.get("/metrics", headers: ["Authorization": "Bearer s3cret-token-0123456789"]).status, 200)
    }

    func testOnlyGetAndHead() throws {
        let h = try DaemonHarness(test: self)
        try h.start(["--http", "127.0.0.1:0"])
        let client = HTTPTestClient(port: try h.httpPort())
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            let r = try client.get("/metrics", method: method)
            XCTAssertEqual(r.status, 405, method)
            XCTAssertEqual(r.headers["allow"], "GET, HEAD", method)
        }
        let head = try client.get("/metrics", method: "HEAD")
        XCTAssertEqual(head.status, 200)
        XCTAssertTrue(head.body.isEmpty)
        XCTAssertGreaterThan(Int(head.headers["content-length"] ?? "") ?? 0, 0)
        XCTAssertEqual(try client.get("/nope").status, 404)
    }
}
