import Foundation
import Queue
import Wire
import XCTest

/// The database file as a backup: complete after a clean stop.
final class BackupTests: XCTestCase {
    /// After SIGTERM the `.sqlite` file alone (copied without its -wal) holds every row: the daemon checkpoints
    /// and closes the queue before it exits (it used to `_exit` with the rows still in the WAL).
    func testDatabaseFileAloneIsCompleteAfterSIGTERM() throws {
        let h = try DaemonHarness(test: self)
        let p = try h.start()
        let file = h.dir + "/p.txt"
        try (1...20).map { "a red circle number \($0)" }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(h.ctl(["submit", "-f", file, "--batch", "b", "--seed", "1"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "b", "--quiet", "--timeout", "60"]).status, 0)
        XCTAssertEqual(h.ctl(["pause"]).status, 0)
        XCTAssertEqual(h.ctl(["submit", "still pending", "--batch", "later"]).status, 0)
        kill(p.processIdentifier, SIGTERM)
        try h.waitForExit(p)
        XCTAssertEqual(p.terminationStatus, 0)
        let db = h.stateDir + "/queue.sqlite"
        let wal = (try? FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? Int) ?? 0
        XCTAssertEqual(wal, 0, "no WAL content left beside the database")
        let copy = h.dir + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: db, toPath: copy + "/queue.sqlite")
        let store = try JobStore(path: copy + "/queue.sqlite")
        let jobs = try store.list(JobFilter(limit: 100))
        XCTAssertEqual(jobs.count, 21)
        XCTAssertEqual(jobs.filter { $0.state == .succeeded }.count, 20)
        XCTAssertEqual(jobs.filter { $0.state == .pending }.count, 1, "the job queued last is there too")
        XCTAssertTrue(h.log().contains("queue checkpointed and closed"), h.log())
    }

    /// `mdctl backup -o FILE` takes a consistent copy while the daemon runs; an existing file is never replaced.
    func testOnlineBackupWhileTheDaemonRuns() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        XCTAssertEqual(h.ctl(["submit", "a red circle", "a blue square", "--batch", "b"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "b", "--quiet", "--timeout", "60"]).status, 0)
        XCTAssertEqual(h.ctl(["pause"]).status, 0)
        XCTAssertEqual(h.ctl(["submit", "queued", "--batch", "later"]).status, 0)
        let copy = h.dir + "/backup.sqlite"
        let r = h.ctl(["backup", "-o", copy])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("backed up the queue to \(copy)"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy + ".partial"))
        let again = h.ctl(["backup", "-o", copy])
        XCTAssertEqual(again.status, 5)
        XCTAssertTrue(again.stderr.contains("the file exists"), again.stderr)
        let nul = try ControlClient(path: h.socket).callError(.backup, BackupRequest(path: h.dir + "/x\u{0}/../y.sqlite"))
        XCTAssertEqual(nul?.code, .invalid)
        XCTAssertEqual(h.ctl(["health"]).status, 0)
        // The copy opens on its own and holds every row.
        let store = try JobStore(path: copy)
        let c = try store.status().counts
        XCTAssertEqual([c.succeeded, c.pending], [2, 1])
    }
}
