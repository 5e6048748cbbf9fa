@testable import Daemon
import Foundation
import XCTest

/// The worker's settle hand-off: tasks run in order on their own thread, at most one at a time and none queued
/// behind it (a worker is never more than one job ahead of its disk), and `finish` runs what was submitted.
final class SettleThreadTests: XCTestCase {
    func testTasksRunInOrderOffTheCallingThread() {
        let settler = SettleThread(name: "test-settle")
        let lock = NSLock()
        var order: [Int] = []
        var offThread = true
        let caller = Thread.current
        for i in 0..<50 {
            settler.submit {
                lock.withLock { order.append(i); if Thread.current == caller { offThread = false } }
            }
        }
        settler.finish()
        XCTAssertEqual(order, Array(0..<50))
        XCTAssertTrue(offThread)
    }

    func testSubmitWaitsForThePreviousTask() {
        let settler = SettleThread(name: "test-settle")
        let gate = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0), secondSubmitted = DispatchSemaphore(value: 0)
        settler.submit { started.signal(); gate.wait() }
        started.wait()
        Thread.detachNewThread {
            settler.submit {}
            secondSubmitted.signal()
        }
        // While the first task runs, a second submit cannot return: there is no queue behind the running task.
        XCTAssertEqual(secondSubmitted.wait(timeout: .now() + 0.2), .timedOut)
        gate.signal()
        XCTAssertEqual(secondSubmitted.wait(timeout: .now() + 10), .success)
        settler.waitIdle()
        settler.finish()
    }

    func testFinishRunsTheLastSubmittedTask() {
        let settler = SettleThread(name: "test-settle")
        var ran = false
        settler.submit { ran = true }
        settler.finish()
        XCTAssertTrue(ran)
    }
}
