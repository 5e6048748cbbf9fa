@testable import Daemon
import Foundation
import Logging
import Queue
import XCTest

/// The lease heartbeat: a lease lost while rendering (the job was canceled) marks the render for discarding.
final class HeartbeatTests: XCTestCase {
    func testACanceledJobsHeartbeatMarksTheRenderLost() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-hb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let store = try JobStore(path: dir + "/queue.sqlite")
        _ = try store.submit(batch: BatchSpec(name: "b"), jobs: [JobSpec(prompt: "a red circle")])
        let lease = try XCTUnwrap(try store.claim(worker: "w"))
        // An hour between timer beats: the test beats by hand, so nothing depends on timing.
        let heartbeat = Heartbeat(store: store, lease: lease, every: 3600, log: Logger(label: "test"))
        defer { heartbeat.stop() }
        heartbeat.beat()
        XCTAssertFalse(heartbeat.lost, "the lease still holds")
        XCTAssertEqual(try store.cancel(.batch("b")), 1)
        heartbeat.beat()
        XCTAssertTrue(heartbeat.lost, "canceled: the render must be discarded, not written")
    }
}
