@testable import Daemon
import XCTest

/// What a node says it is doing, from its lifecycle, disk and workers: the lifecycle wins, then a full disk, then
/// any rendering worker (a paused queue still finishes the jobs it holds), then a paused queue.
final class NodeReporterTests: XCTestCase {
    func testNodeStatePrecedence() {
        typealias S = NodeReporter
        XCTAssertEqual(S.state(lifecycle: "starting", diskFull: true, queuePaused: true, workerStates: ["rendering"]), .starting)
        XCTAssertEqual(S.state(lifecycle: "stopping", diskFull: true, queuePaused: false, workerStates: ["rendering"]), .stopping)
        XCTAssertEqual(S.state(lifecycle: "running", diskFull: true, queuePaused: false, workerStates: ["rendering"]), .diskFull)
        XCTAssertEqual(S.state(lifecycle: "running", diskFull: false, queuePaused: true, workerStates: ["idle", "rendering"]), .rendering)
        XCTAssertEqual(S.state(lifecycle: "running", diskFull: false, queuePaused: true, workerStates: ["idle"]), .paused)
        XCTAssertEqual(S.state(lifecycle: "running", diskFull: false, queuePaused: false, workerStates: ["idle", "idle"]), .idle)
    }

    func testHeartbeatsComeThreeTimesALeaseAtMostEveryFiveSeconds() {
        XCTAssertEqual(NodeReporter.interval(leaseSeconds: 60), 5)
        XCTAssertEqual(NodeReporter.interval(leaseSeconds: 3), 1)
    }
}
