import Foundation
import Queue
import Wire
import XCTest

/// Canceling a running job stops its render within one UNet block instead of letting it run to the end and
/// discarding the result: the worker is free for the next job at once, and nothing of the canceled job is written.
final class CancelRenderTests: XCTestCase {
    /// A render long enough to cancel mid-way: 50 denoising steps at 512×512 on md8-tiny take tens of seconds in a
    /// debug build (one step at the default 32×32 takes milliseconds).
    private let long = ["--steps", "50", "--width", "512", "--height", "512"]

    func testCancelingARunningJobStopsItsRenderAndTheWorkerMovesOn() throws {
        let h = try DaemonHarness(test: self)
        try h.start(["--log-level", "debug"])
        XCTAssertEqual(h.ctl(["submit", "a red circle", "--batch", "long"] + long).status, 0)
        XCTAssertEqual(h.ctl(["submit", "a blue square", "--batch", "next"]).status, 0)
        let job = try XCTUnwrap(try h.json(["ls", "--batch", "long"], as: ListReply.self).jobs.first)
        try waitUntil(timeout: 60, "the long job to be rendering") {
            try h.json(["workers"], as: WorkersReply.self).workers.contains { $0.state == "rendering" && $0.jobId == job.id }
        }
        let canceledAt = Date()
        XCTAssertEqual(h.ctl(["cancel", "--batch", "long"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "next", "--quiet", "--timeout", "120"]).status, 0, h.log())
        let movedOn = Date().timeIntervalSince(canceledAt)

        XCTAssertEqual(try h.json(["ls", "--batch", "long"], as: ListReply.self).jobs.map(\.state), ["canceled"])
        XCTAssertEqual(try h.json(["ls", "--batch", "next"], as: ListReply.self).jobs.map(\.state), ["succeeded"])
        // The render stopped part-way through the denoising loop (the step it reached is in the log), not at its end.
        let log = h.log()
        let m = try XCTUnwrap(log.firstMatch(of: #/job (\d+): render stopped at denoising step (\d+) of 50 and discarded/#), log)
        XCTAssertEqual(Int64(m.1), job.id)
        let step = try XCTUnwrap(Int(m.2))
        XCTAssertLessThan(step, 50, "the render was stopped before its last step")
        print("canceled at step \(step) of 50; the next job succeeded \(String(format: "%.2f", movedOn)) s after the cancel")
        // Nothing of the canceled job was written.
        XCTAssertNil(PNGWrites.count(in: log)[job.id], "the canceled job's PNG was written")
        let dir = "\(h.stateDir)/outputs/long"
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [], [], "files of the canceled job in \(dir)")
    }

    /// A lost lease stops the render the same way when the heartbeat finds it, without a cancel request reaching
    /// this daemon (another node canceled it, or its lease expired and was taken back): here the job is canceled
    /// in the database directly, and the next beat (a third of a 3 s lease) finds it.
    func testALeaseLostBehindTheDaemonsBackStopsTheRender() throws {
        let h = try DaemonHarness(test: self)
        try h.start(["--log-level", "debug", "--lease-seconds", "3"])
        XCTAssertEqual(h.ctl(["submit", "a red circle", "--batch", "long"] + long).status, 0)
        let job = try XCTUnwrap(try h.json(["ls", "--batch", "long"], as: ListReply.self).jobs.first)
        try waitUntil(timeout: 60, "the long job to be rendering") {
            try h.json(["workers"], as: WorkersReply.self).workers.contains { $0.state == "rendering" && $0.jobId == job.id }
        }
        XCTAssertEqual(try JobStore(path: h.stateDir + "/queue.sqlite").cancel(.job(job.id)), 1)
        try waitUntil(timeout: 60, "the worker to drop the render") {
            try h.json(["workers"], as: WorkersReply.self).workers.allSatisfy { $0.state == "idle" }
        }
        let log = h.log()
        let m = try XCTUnwrap(log.firstMatch(of: #/job (\d+): render stopped at denoising step (\d+) of 50 and discarded/#), log)
        XCTAssertEqual(Int64(m.1), job.id)
        XCTAssertLessThan(try XCTUnwrap(Int(m.2)), 50)
        XCTAssertNil(PNGWrites.count(in: log)[job.id])
    }
}
