@testable import Daemon
import Foundation
import Queue
import XCTest

/// The probe behind `mdd_queue_oldest_pending_age_seconds` starts where it last found the oldest pending job and
/// walks the whole queue once a minute, which catches jobs made pending again behind it.
final class OldestPendingProbeTests: XCTestCase {
    func testFindsTheOldestPendingJobAndCatchesRetriesOnTheFullWalk() throws {
        let dir = NSTemporaryDirectory() + "mdd-probe-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let store = try JobStore(path: dir + "/queue.sqlite")
        _ = try store.submit(batch: BatchSpec(name: "p"), jobs: (0..<5).map { JobSpec(prompt: "job \($0)") }, startIndex: 0)
        let probe = OldestPendingProbe()
        let all = try store.list(JobFilter(batch: "p"))
        XCTAssertEqual(try probe.oldestCreatedAt(store: store, pending: 5, now: 0), all[0].createdAt)

        // Jobs 1 and 2 finish (1 fails for good): the oldest pending is job 3.
        let first = try XCTUnwrap(try store.claim(worker: "w"))
        _ = try store.fail(first, error: "boom", retryable: false)
        let second = try XCTUnwrap(try store.claim(worker: "w"))
        try store.complete(second, output: JobOutput(path: "/dev/null", sha256: "", timings: JobTimings(textMs: 0, unetMs: 0, decodeMs: 0, pngMs: 0, totalMs: 0)))
        XCTAssertEqual(try probe.oldestCreatedAt(store: store, pending: 3, now: 1), all[2].createdAt)

        // Job 1 retried: pending again behind the probe's floor; seen at the next full walk.
        XCTAssertEqual(try store.retry(.job(first.job.id), includeCanceled: false), 1)
        XCTAssertEqual(try probe.oldestCreatedAt(store: store, pending: 4, now: 2), all[2].createdAt, "between full walks")
        XCTAssertEqual(try probe.oldestCreatedAt(store: store, pending: 4, now: 2 + OldestPendingProbe.fullScanSeconds), all[0].createdAt)
        XCTAssertNil(try probe.oldestCreatedAt(store: store, pending: 0, now: 100))
    }
}
