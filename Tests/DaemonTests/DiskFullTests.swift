import Foundation
import Queue
import Wire
import XCTest

/// A full disk pauses claims instead of failing jobs, and the batch completes by itself once space returns.
final class DiskFullTests: XCTestCase {
    /// A small tmpfs, filled to the last byte; unmounted at teardown (before the harness removes its folder).
    private func fullTmpfs(at path: String, size: String = "256k", _ h: DaemonHarness) throws -> String {
        guard getuid() == 0 else { throw XCTSkip("needs root to mount a tmpfs") }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mount = h.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(mount.stderr)") }
        addTeardownBlock { _ = h.run("/bin/umount", ["-l", path]) }
        return try fullTmpfsFill(path + "/filler")
    }

    func testFullOutputsPauseClaimsSpendNoAttemptsAndResumeWhenSpaceReturns() throws {
        let h = try DaemonHarness(test: self)
        let outputs = h.dir + "/outputs"
        let filler = try fullTmpfs(at: outputs, h)
        let config = h.dir + "/mdd.json"
        try "{\"output_dir\": \"\(outputs)\"}".write(toFile: config, atomically: true, encoding: .utf8)
        try h.start(["--config", config])
        // One attempt each: a single spent attempt would fail a job for good.
        XCTAssertEqual(h.ctl(["submit", "one", "two", "three", "four", "--batch", "full", "--max-attempts", "1"]).status, 0)
        try waitUntil(timeout: 60, "the pause to show in health") {
            try h.json(["health"], as: HealthReply.self).diskFull == "disk full: \(outputs)"
        }
        let status = h.ctl(["status"])
        XCTAssertTrue(status.stdout.contains("claims paused: disk full: \(outputs)"), status.stdout)
        let paused = try h.json(["ls", "--batch", "full"], as: ListReply.self).jobs
        XCTAssertEqual(paused.filter { $0.state == "failed" }.count, 0)
        XCTAssertLessThanOrEqual(paused.filter { $0.state == "running" }.count, 2, "claims stopped: the job settling and at most one rendered")
        XCTAssertTrue(h.log().contains("disk full: \(outputs)"), h.log())
        // Space returns: the batch finishes by itself.
        try FileManager.default.removeItem(atPath: filler)
        XCTAssertEqual(h.ctl(["wait", "--batch", "full", "--quiet", "--timeout", "60"]).status, 0)
        let jobs = try h.json(["ls", "--batch", "full"], as: ListReply.self).jobs
        XCTAssertEqual(jobs.map(\.state), Array(repeating: "succeeded", count: 4))
        XCTAssertEqual(jobs.map(\.attempts), [1, 1, 1, 1], "no attempt spent on the full disk")
        XCTAssertNil(try h.json(["health"], as: HealthReply.self).diskFull)
        XCTAssertTrue(h.log().contains("disk space is back: \(outputs)"), h.log())
    }

    /// A job canceled while its PNG waits for space is dropped at once: nothing is written when space returns, and
    /// the pause (held by that job alone) ends instead of outliving its lease.
    func testAJobCanceledWhileWaitingForSpaceIsDroppedAndThePauseEnds() throws {
        let h = try DaemonHarness(test: self)
        let outputs = h.dir + "/outputs"
        let filler = try fullTmpfs(at: outputs, h)
        let config = h.dir + "/mdd.json"
        try "{\"output_dir\": \"\(outputs)\"}".write(toFile: config, atomically: true, encoding: .utf8)
        try h.start(["--config", config, "--log-level", "debug"])
        XCTAssertEqual(h.ctl(["submit", "one", "--batch", "gone", "--max-attempts", "1"]).status, 0)
        try waitUntil(timeout: 60, "the pause to show in health") {
            try h.json(["health"], as: HealthReply.self).diskFull == "disk full: \(outputs)"
        }
        XCTAssertEqual(h.ctl(["cancel", "--batch", "gone"]).status, 0)
        try waitUntil(timeout: 30, "the pause to end with the only job waiting on it") {
            try h.json(["health"], as: HealthReply.self).diskFull == nil
        }
        try FileManager.default.removeItem(atPath: filler)
        try waitUntil(timeout: 30, "the worker to be idle") {
            try h.json(["workers"], as: WorkersReply.self).workers.allSatisfy { $0.state == "idle" }
        }
        XCTAssertEqual(try h.json(["ls", "--batch", "gone"], as: ListReply.self).jobs.map(\.state), ["canceled"])
        XCTAssertEqual(PNGWrites.count(in: h.log()), [:], "nothing written for the canceled job")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: outputs + "/gone")) ?? [], [])
        XCTAssertTrue(h.log().contains("its lease was lost while waiting for disk space"), h.log())
    }

    /// The queue's own disk full (SQLITE_FULL on claims, completions and lease renewals): the same pause, no job
    /// left failed, and no job taken back from its worker although the pause outlasts the 2 s leases (renewals fail
    /// while the disk is full; recovery waits out the pause and the heartbeats renew first).
    func testFullQueueDiskPausesAndResumesWithoutFailingJobs() throws {
        let h = try DaemonHarness(test: self)
        let state = h.stateDir
        // Room for the WAL to grow once the filler goes (it only shrinks at a checkpoint).
        let filler = try fullTmpfs(at: state, size: "16m", h)
        try FileManager.default.removeItem(atPath: filler)  // room for the database to be created
        let config = h.dir + "/mdd.json"
        try "{\"output_dir\": \"\(h.dir)/outputs\"}".write(toFile: config, atomically: true, encoding: .utf8)
        try h.start(["--config", config, "--lease-seconds", "2", "--log-level", "debug"])
        // Sixty quick jobs, and the disk filled while they run: the WAL grows with every commit, so a claim or a
        // completion soon finds no space (filling takes milliseconds, the batch most of a second).
        XCTAssertEqual(h.ctl(["submit", "--batch", "q", "--max-attempts", "1"] + (1...60).map { "shape \($0)" }).status, 0)
        _ = try fullTmpfsFill(filler)
        try waitUntil(timeout: 60, "the pause to show in health") {
            try h.json(["health"], as: HealthReply.self).diskFull == "disk full: \(state)/queue.sqlite"
        }
        XCTAssertEqual(try h.json(["status"], as: StatusReply.self).counts.failed, 0)
        // Time passing is the point here, not a synchronisation: the pause must outlast a lease (2 s).
        let pausedAt = Date()
        try waitUntil(timeout: 60, "a lease's time to pass while paused") { Date().timeIntervalSince(pausedAt) > 3 }
        XCTAssertNotNil(try h.json(["health"], as: HealthReply.self).diskFull, "still paused")
        try FileManager.default.removeItem(atPath: filler)
        XCTAssertEqual(h.ctl(["wait", "--batch", "q", "--quiet", "--timeout", "60"]).status, 0, h.log())
        XCTAssertEqual(try h.json(["status"], as: StatusReply.self).counts.succeeded, 60)
        let jobs = try JobStore(path: state + "/queue.sqlite").list(JobFilter(batch: "q", limit: 100))
        XCTAssertEqual(jobs.filter { $0.attempts != 1 }.map(\.id), [], "no attempt spent on the full disk")
        XCTAssertEqual(jobs.filter { $0.rescues != 0 }.map(\.id), [], "no lease taken back from its live worker")
        XCTAssertEqual(PNGWrites.count(in: h.log()).filter { $0.value != 1 }, [:], "no job rendered twice")
        XCTAssertTrue(h.log().contains("disk space is back: \(state)/queue.sqlite"), h.log())
    }

    /// Fills the file system of `path` (a new file there) until ENOSPC.
    private func fullTmpfsFill(_ path: String) throws -> String {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let block = [UInt8](repeating: 0x55, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) > 0 {}
        XCTAssertEqual(errno, ENOSPC)
        return path
    }
}
