import Foundation
import XCTest
@testable import Queue

/// The nodes table and pruning (`JobQueue.report(node:)`, `nodes()`, `prune`), run unchanged against every store.
final class NodeConformanceTests: XCTestCase {
    private let batch = BatchSpec(name: "old", baseSeed: 1, steps: 1, guidance: 1, maxAttempts: 1)

    private func worker(_ id: String, _ state: String, job: Int64? = nil, done: Int = 0) -> WorkerReport {
        WorkerReport(id: id, state: state, jobId: job, completed: done, failed: 0, imagesPerSecond: Double(done) / 10, sinceSeconds: 2)
    }

    func testNodesReportAndAnyConnectionListsTheCluster() throws {
        try forEachStore { s in
            let a = try s.open(), b = try s.open()
            try a.report(node: NodeReport(name: "node-a", host: "ha", pid: 11, uptimeSeconds: 100, state: "rendering", imagesPerSecond: 1.5,
                                          workers: [worker("node-a:11:w0", "rendering", job: 42, done: 7), worker("node-a:11:w1", "idle")]))
            try b.report(node: NodeReport(name: "node-b", host: "hb", pid: 22, uptimeSeconds: 5, state: "idle", imagesPerSecond: 0, workers: []))
            let nodes = try b.nodes()
            XCTAssertEqual(nodes.map(\.report.name), ["node-a", "node-b"], s.name)
            let na = try XCTUnwrap(nodes.first)
            XCTAssertEqual([na.report.host, na.report.state], ["ha", "rendering"], s.name)
            XCTAssertEqual(na.report.pid, 11, s.name)
            XCTAssertEqual(na.report.imagesPerSecond, 1.5, s.name)
            XCTAssertEqual(na.report.workers.map(\.id), ["node-a:11:w0", "node-a:11:w1"], s.name)
            XCTAssertEqual(na.report.workers.first?.jobId, 42, s.name)
            XCTAssertEqual(na.report.workers.first?.completed, 7, s.name)
            // Durations come back measured on the database clock: about what was sent, plus the time since.
            XCTAssertEqual(na.report.uptimeSeconds, 100, accuracy: 30, s.name)
            XCTAssertEqual(na.report.workers.first?.sinceSeconds ?? -1, 2, accuracy: 30, s.name)
            XCTAssertEqual(na.heartbeatAgeSeconds, 0, accuracy: 30, s.name)
            XCTAssertFalse(na.isLost(after: 60), s.name)
            XCTAssertEqual(nodes.last?.report.workers, [], s.name)

            XCTAssertEqual(try a.forgetNodes(silentFor: 3600, dryRun: false), 0, "[\(s.name)] both beat just now")
            XCTAssertEqual(try a.forgetNodes(silentFor: -1, dryRun: true), 2, s.name)
            XCTAssertEqual(try a.nodes().count, 2, "[\(s.name)] a dry run forgets nothing")
            XCTAssertEqual(try a.forgetNodes(silentFor: -1, dryRun: false), 2, s.name)
            XCTAssertEqual(try a.nodes(), [], "[\(s.name)] nodes and their workers are gone")
            XCTAssertEqual(try b.report(node: NodeReport(name: "node-b", host: "hb", pid: 22, uptimeSeconds: 6, state: "idle",
                                                         imagesPerSecond: 0, workers: [])), nil, "[\(s.name)] a forgotten node reports afresh")
        }
    }

    func testReportReplacesWorkersAndAStoppedNodeIsNeverLost() throws {
        try forEachStore { s in
            let q = try s.open()
            XCTAssertNil(try q.report(node: NodeReport(name: "n", host: "h", pid: 1, uptimeSeconds: 1, state: "idle", imagesPerSecond: 0,
                                                       workers: [worker("n:1:w0", "idle"), worker("n:1:w1", "idle")])), s.name)
            // The same name from a restarted daemon (another pid, one worker) replaces the row and its workers, and
            // learns who held the name before (a daemon warns when that is another live process).
            let previous = try q.report(node: NodeReport(name: "n", host: "h", pid: 2, uptimeSeconds: 0, state: "stopped", imagesPerSecond: 0,
                                                         workers: [worker("n:2:w0", "stopped")]))
            XCTAssertEqual([previous?.host, previous?.state], ["h", "idle"], s.name)
            XCTAssertEqual(previous?.pid, 1, s.name)
            let nodes = try q.nodes()
            XCTAssertEqual(nodes.count, 1, s.name)
            XCTAssertEqual(nodes.first?.report.pid, 2, s.name)
            XCTAssertEqual(nodes.first?.report.workers.map(\.id), ["n:2:w0"], s.name)
            XCTAssertEqual(nodes.first?.isLost(after: -1), false, "[\(s.name)] a node that said it stopped is not lost")
            var silent = try XCTUnwrap(nodes.first)
            silent.report.state = "rendering"
            XCTAssertTrue(silent.isLost(after: silent.heartbeatAgeSeconds - 1), "[\(s.name)] a silent node is lost")
        }
    }

    func testPruneDeletesOnlyFinishedJobsAndKeepsCountsEqualToRows() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(6))
            _ = try q.submit(batch: BatchSpec(name: "keep", baseSeed: 1, steps: 1, guidance: 1, maxAttempts: 1), jobs: prompts(2))
            for _ in 0..<2 { let l = try XCTUnwrap(try q.claim(worker: "w")); try q.complete(l, output: output(l.job.id)) }
            let failing = try XCTUnwrap(try q.claim(worker: "w"))
            XCTAssertEqual(try q.fail(failing, error: "boom", retryable: false), .failed, s.name)
            let running = try XCTUnwrap(try q.claim(worker: "w"))
            let pending = try q.list(JobFilter(batch: "old", state: .pending, limit: 10))
            XCTAssertEqual(try q.cancel(.job(try XCTUnwrap(pending.first).id)), 1, s.name)
            // old: 2 succeeded, 1 failed, 1 canceled, 1 running, 1 pending.

            XCTAssertEqual(try q.prune(PruneFilter(batch: "old"), dryRun: true), 4, s.name)
            XCTAssertEqual(try q.status().counts.total, 8, "[\(s.name)] a dry run deletes nothing")
            XCTAssertEqual(try q.prune(PruneFilter(batch: "old", finishedBeforeSecondsAgo: 3600), dryRun: false), 0,
                           "[\(s.name)] nothing finished an hour ago")
            XCTAssertEqual(try q.prune(PruneFilter(batch: "old"), dryRun: false), 4, s.name)
            let left = try q.list(JobFilter(batch: "old", limit: 10))
            XCTAssertEqual(Set(left.map(\.state)), [.running, .pending], s.name)
            try assertCountsMatchRows(s, q)
            try q.complete(running, output: output(running.job.id))  // its lease survived the prune

            let k = try XCTUnwrap(try q.claim(worker: "w"))
            try q.complete(k, output: output(k.job.id))
            XCTAssertEqual(try q.prune(PruneFilter(finishedBeforeSecondsAgo: 0), dryRun: false), 2, "[\(s.name)] every finished job of every batch")
            XCTAssertEqual(try q.status().counts.succeeded, 0, s.name)
            XCTAssertEqual(try q.status().counts.pending, 2, s.name)
            try assertCountsMatchRows(s, q)

            // More rows than one prune transaction takes: the chunks add up, and the counts follow.
            let bulk = QueueSQL.pruneChunk * 2 + 500
            _ = try q.submit(batch: BatchSpec(name: "bulk"), jobs: prompts(bulk))
            XCTAssertEqual(try q.cancel(.batch("bulk")), bulk, s.name)
            XCTAssertEqual(try q.prune(PruneFilter(batch: "bulk"), dryRun: false), bulk, s.name)
            XCTAssertEqual(try q.status().batches.first { $0.name == "bulk" }?.counts.total, 0, s.name)
            try assertCountsMatchRows(s, q)

            XCTAssertThrowsError(try q.prune(PruneFilter(), dryRun: true), s.name) {
                guard case .invalidPrune = $0 as? QueueError else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try q.prune(PruneFilter(finishedBeforeSecondsAgo: -5), dryRun: false), s.name)
            XCTAssertThrowsError(try q.prune(PruneFilter(batch: "nope"), dryRun: false), s.name) {
                XCTAssertEqual($0 as? QueueError, .unknownBatch("nope"))
            }
        }
    }
}
