import Foundation
import Queue
import Wire
import XCTest

/// The daemon killed at a named point (`MDD_KILL_AT`): right after a PNG is durable at its final path and before
/// its completion commits. The job is rescued at the next start and its PNG reused, never rendered again.
final class CrashRecoveryTests: XCTestCase {
    func testKillBetweenPNGRenameAndCommitReusesThePNG() throws {
        let h = try DaemonHarness(test: self)
        let db = h.stateDir + "/queue.sqlite"
        var orphans: [Int64] = []
        for (run, k) in [3, 4].enumerated() {
            let p = try h.start(["--log-level", "debug"], environment: ["MDD_KILL_AT": "png-renamed:\(k)"])
            if run == 0 {
                XCTAssertEqual(h.ctl(["pause"]).status, 0)
                XCTAssertEqual(h.ctl(["submit", "--batch", "k", "--seed", "1"] + (1...20).map { "crash prompt \($0)" }).status, 0)
            }
            XCTAssertEqual(h.ctl(["resume"]).status, 0)
            try h.waitForExit(p)
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "run \(run): killed at the point, not exited")
            XCTAssertEqual(p.terminationStatus, SIGKILL)
            // The job whose PNG is durable but whose completion never committed.
            let store = try JobStore(path: db)
            let running = try store.list(JobFilter(batch: "k", state: .running))
            let orphan = try XCTUnwrap(running.first { FileManager.default.fileExists(atPath: "\(h.stateDir)/outputs/k/\($0.id)-\($0.seed).png") },
                                       "run \(run): the kill landed between the rename and the commit")
            orphans.append(orphan.id)
            try store.setPaused(true)  // the next daemon starts paused: it cannot die before it answers `health`
        }
        try h.start(["--log-level", "debug"])
        XCTAssertEqual(h.ctl(["resume"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "k", "--quiet", "--timeout", "60"]).status, 0)
        let jobs = try JobStore(path: db).list(JobFilter(batch: "k", limit: 100))
        XCTAssertEqual(jobs.filter { $0.state == .succeeded }.count, 20)
        XCTAssertEqual(jobs.filter { $0.attempts != 1 }.map(\.id), [], "every interrupted attempt was refunded")
        let log = h.allLogs()
        for id in orphans {
            XCTAssertEqual(jobs.first { $0.id == id }?.rescues, 1, "job \(id) was rescued once")
            XCTAssertTrue(log.contains("job \(id): reusing output written before a crash"), "job \(id) was rendered again")
        }
        let writes = PNGWrites.count(in: log)
        XCTAssertEqual(Set(writes.keys), Set(jobs.map(\.id)), "every job's PNG was written")
        XCTAssertEqual(writes.filter { $0.value != 1 }, [:], "no PNG written twice")
    }
}

/// How many times each job's PNG was written, from the daemons' debug logs ("job N: wrote PATH").
///
/// A kill can land between a PNG's rename and its "wrote" line: the settle thread publishes job N while the worker
/// thread, rendering job N + 1, reaches the kill point. That write shows only as the next attempt's "job N: reusing
/// output written before a crash" (it found the file and did not write it again), and counts once.
enum PNGWrites {
    static func count(in log: String) -> [Int64: Int] {
        var out: [Int64: Int] = [:], reused: Set<Int64> = []
        for line in log.split(separator: "\n") {
            if let m = line.firstMatch(of: #/job (\d+): wrote /#), let id = Int64(m.1) { out[id, default: 0] += 1 }
            if let m = line.firstMatch(of: #/job (\d+): reusing output written before a crash/#), let id = Int64(m.1) { reused.insert(id) }
        }
        for id in reused where out[id] == nil { out[id] = 1 }
        return out
    }
}
