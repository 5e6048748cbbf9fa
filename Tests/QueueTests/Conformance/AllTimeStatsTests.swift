import Foundation
import XCTest
@testable import Queue

/// The all-time `stats` window comes from latency histograms (migration v4): its percentiles must stay within the
/// documented ±1 % of the exact ones over the rows, and its counts and means exact, through completions, failures,
/// prunes and later completions, for one batch and for all of them, on both stores.
final class AllTimeStatsTests: XCTestCase {
    func testAllTimeWindowFollowsTheRowsWithinOnePercent() throws {
        try forEachStore { s in
            let q = try s.open()
            try renderAll(q, batch: "spread", count: 300, offset: 0)
            try renderAll(q, batch: "other", count: 120, offset: 300)
            try failSome(q, batch: "doomed", count: 7)
            XCTAssertEqual(try allTime(q, batch: nil).failed, 7, s.name)
            try assertAllTimeMatchesRows(s, q, batch: nil)
            try assertAllTimeMatchesRows(s, q, batch: "doomed")
            try assertAllTimeMatchesRows(s, q, batch: "spread")
            try assertAllTimeMatchesRows(s, q, batch: "other")

            // Pruning a batch takes its jobs out of the histograms; completions afterwards go in.
            XCTAssertEqual(try q.prune(PruneFilter(batch: "other"), dryRun: false), 120, s.name)
            try assertAllTimeMatchesRows(s, q, batch: nil)
            XCTAssertEqual(try allTime(q, batch: "other").completed, 0, s.name)
            XCTAssertTrue(try allTime(q, batch: "other").stages.isEmpty, s.name)
            try renderAll(q, batch: "other", count: 90, offset: 1000)
            try renderAll(q, batch: "late", count: 150, offset: 2000)
            for batch in [nil, "spread", "other", "late"] { try assertAllTimeMatchesRows(s, q, batch: batch) }
        }
    }

    /// Migration v4 fills the histograms from the jobs already finished: undone and run again on a queue with
    /// history, it gives the window the triggers had built.
    func testMigrationBackfillsTheHistogramsFromTheRows() throws {
        try forEachStore { s in
            let q = try s.open()
            try renderAll(q, batch: "old", count: 200, offset: 0)
            try failSome(q, batch: "doomed", count: 3)
            let before = try allTime(q, batch: nil)
            if let sqlite = q as? JobStore {
                try sqlite.db.exec("""
                    DROP TRIGGER jobs_latency_succeeded; DROP TRIGGER jobs_latency_unsucceeded; DROP TRIGGER jobs_latency_deleted;
                    DROP TABLE latency_totals; DROP TABLE latency_buckets; PRAGMA user_version = 3;
                    """)
            } else if let pg = q as? PostgresJobStore {
                try pg.db.exec("""
                    DROP TRIGGER jobs_latency_updated ON jobs; DROP TRIGGER jobs_latency_deleted ON jobs;
                    DROP FUNCTION mdd_latency_updated(); DROP FUNCTION mdd_latency_deleted();
                    DROP TABLE latency_totals, latency_total_deltas, latency_buckets, latency_bucket_deltas;
                    DELETE FROM mdd_schema WHERE version = 4;
                    """)
            }
            let after = try allTime(try s.open(), batch: nil)
            XCTAssertEqual(after.completed, 200, s.name)
            XCTAssertEqual(after.failed, 3, s.name)
            XCTAssertEqual(Set(after.stages.keys), Set(before.stages.keys), s.name)
            for (stage, b) in before.stages {
                let a = try XCTUnwrap(after.stages[stage])
                XCTAssertEqual([a.p50, a.p95, a.p99], [b.p50, b.p95, b.p99], "\(s.name): \(stage), same buckets")
                XCTAssertEqual(a.mean, b.mean, accuracy: 1e-9 * b.mean, "\(s.name): \(stage) mean")
            }
            try assertAllTimeMatchesRows(s, q, batch: "old")
        }
    }

    /// Claims and completes a new batch of `count` jobs with latencies spread over three decades (0.3 ms to
    /// ~40 s), each stage differently, so that percentiles fall in many buckets.
    private func renderAll(_ q: any JobQueue, batch: String, count: Int, offset: Int) throws {
        _ = try q.submit(batch: BatchSpec(name: batch), jobs: prompts(count, prefix: batch))
        while case let leases = try q.claim(worker: "w", limit: 64), !leases.isEmpty {
            let results = leases.map { lease -> (Lease, JobOutput) in
                let i = Double(offset + Int(lease.job.id % 997))
                let timings = JobTimings(textMs: 0.3 + i.truncatingRemainder(dividingBy: 17) * 1.7,
                                         unetMs: 50 * pow(1.013, i.truncatingRemainder(dividingBy: 431)),
                                         decodeMs: 3 + (i * 7.31).truncatingRemainder(dividingBy: 90),
                                         pngMs: 1 + (i * i).truncatingRemainder(dividingBy: 13) / 3,
                                         totalMs: 100 + (i * 37.7).truncatingRemainder(dividingBy: 40_000))
                return (lease, JobOutput(path: "/out/\(lease.job.id).png", sha256: "h", timings: timings))
            }
            XCTAssertEqual(try q.complete(results), [], "every lease still held")
        }
    }

    /// Submits `count` jobs to a new batch `batch` and fails them all (for the failed count).
    private func failSome(_ q: any JobQueue, batch: String, count: Int) throws {
        _ = try q.submit(batch: BatchSpec(name: batch, maxAttempts: 1), jobs: prompts(count, prefix: "doomed"))
        let leases = try q.claim(worker: "w", limit: count)
        XCTAssertEqual(leases.count, count)
        for lease in leases { _ = try q.fail(lease, error: "boom", retryable: false) }
    }

    private func allTime(_ q: any JobQueue, batch: String?) throws -> WindowStats {
        try XCTUnwrap(try q.stats(batch: batch).windows.first { $0.window == "all" })
    }

    /// The all-time window against the succeeded rows: counts and means exact, percentiles within 1 % (or, under
    /// 1 ms, where every value shares the first bucket, within 1.02 ms).
    private func assertAllTimeMatchesRows(_ s: StoreUnderTest, _ q: any JobQueue, batch: String?, line: UInt = #line) throws {
        var columns = [[Double]](repeating: [], count: 6), failed = 0
        try q.export(batch: batch) { job in
            if job.state == .failed { failed += 1 }
            guard job.state == .succeeded, let t = job.timings else { return }
            for (c, v) in [job.queueWaitMs ?? 0, t.textMs, t.unetMs, t.decodeMs, t.pngMs, t.totalMs].enumerated() { columns[c].append(v) }
        }
        let all = try allTime(q, batch: batch)
        let what = "[\(s.name)] batch \(batch ?? "(all)")"
        XCTAssertEqual(all.completed, columns[5].count, "\(what): completed", line: line)
        XCTAssertEqual(all.failed, failed, "\(what): failed", line: line)
        XCTAssertEqual(all.imagesPerMinute > 0, !columns[5].isEmpty, "\(what): rate", line: line)
        var worst = 0.0
        for (i, stage) in WindowStats.stageNames.enumerated() where !columns[i].isEmpty {
            let exact = JobStore.percentiles(columns[i])
            let got = try XCTUnwrap(all.stages[stage], "\(what): \(stage)", line: line)
            XCTAssertEqual(got.mean, exact.mean, accuracy: 1e-9 * max(1, exact.mean), "\(what): \(stage) mean", line: line)
            for (g, e, name) in [(got.p50, exact.p50, "p50"), (got.p95, exact.p95, "p95"), (got.p99, exact.p99, "p99")] {
                let tolerance = e < 1 ? 1.02 : 0.01 * e
                XCTAssertEqual(g, e, accuracy: tolerance, "\(what): \(stage) \(name)", line: line)
                if e >= 1 { worst = max(worst, abs(g - e) / e) }
            }
        }
        print("\(what): all-time percentiles at most \(String(format: "%.3f", worst * 100)) % from exact over \(columns[5].count) jobs")
    }
}
