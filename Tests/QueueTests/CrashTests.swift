import Foundation
import XCTest
@testable import Queue

/// A helper process kills itself at named points (`MDD_KILL_AT`, see `KillPoint`) while it submits, claims and
/// completes. Each test asserts that the kill landed mid-work (the process died of SIGKILL, with work reported and
/// work committed differing by exactly the step killed) and what recovery did; afterwards every submitted job exists
/// exactly once and every committed completion is durable.
final class CrashTests: XCTestCase {
    private var helper: String { productPath("mdd-queue-helper") }

    /// Killed right after its k-th chunk commits, before reporting it: exactly k whole chunks are durable, and a
    /// rerun completes the submit without duplicates.
    func testKillAfterEachSubmitChunkLeavesWholeChunksOnly() throws {
        let path = try tempDir() + "/q.sqlite"
        let total = 1000, chunk = 100
        for k in 1...9 {
            // Each run resubmits from the start: chunks already stored commit as duplicates, so the k-th commit is
            // the first new chunk.
            let p = try HelperProcess(helper, ["submit", path, "crash", "\(total)", "\(chunk)"], environment: ["MDD_KILL_AT": "submit-chunk:\(k)"])
            let reported = p.waitForOutput().split(separator: "\n").filter { $0.hasPrefix("submitted") }.count
            XCTAssertTrue(p.killed, "kill point \(k) landed mid-submit")
            XCTAssertEqual(reported, k - 1, "killed after the commit, before the report")
            XCTAssertEqual(try makeStore(path: path).status().counts.total, k * chunk, "exactly the committed chunks, none torn")
        }
        let p = try HelperProcess(helper, ["submit", path, "crash", "\(total)", "\(chunk)"])
        _ = p.waitForOutput()
        XCTAssertEqual(p.status, 0)
        let q = try makeStore(path: path)
        XCTAssertEqual(try q.status().counts.total, total)
        let seeds = try q.list(JobFilter(limit: 10_000)).map(\.seed)
        XCTAssertEqual(seeds, (0..<Int64(total)).map { 1000 + $0 }, "one row per line, seeds base + index")
    }

    /// Killed right after a claim commits, or after the k-th completion commits (with the next claim, before it is
    /// reported): the completions are durable, the one job held is rescued with its attempt refunded, and nothing is
    /// lost or completed twice.
    func testKillAfterClaimOrCompleteIsRecoveredWithNothingLost() throws {
        let path = try tempDir() + "/q.sqlite"
        let jobs = 40
        _ = try makeStore(path: path).submit(batch: BatchSpec(name: "b"), jobs: prompts(jobs))
        var reportedDone = Set<Int64>()
        for (run, (point, k)) in [("claim", 1), ("complete", 1), ("complete", 3), ("claim", 1), ("complete", 7)].enumerated() {
            let before = try makeStore(path: path).status().counts.succeeded
            let p = try HelperProcess(helper, ["work", path, "k\(run)"], environment: ["MDD_KILL_AT": "\(point):\(k)"])
            let ids = HelperProcess.doneIds(p.waitForOutput())
            XCTAssertTrue(p.killed, "run \(run): the kill at \(point):\(k) landed")
            let committed = point == "complete" ? k : 0
            XCTAssertEqual(ids.count, max(committed - 1, 0), "run \(run): the last commit was not reported")
            XCTAssertTrue(reportedDone.isDisjoint(with: ids), "a job was completed twice")
            reportedDone.formUnion(ids)
            let q = try makeStore(path: path)
            XCTAssertEqual(try q.status().counts.succeeded, before + committed, "run \(run): every committed completion is durable")
            let held = try XCTUnwrap(try q.list(JobFilter(state: .running)).first, "run \(run): the kill landed holding a lease")
            XCTAssertEqual(try q.recoverExpiredLeases(all: true), .init(rescued: 1, poisoned: 0), "run \(run): recovery took it back")
            let back = try XCTUnwrap(try q.job(held.id))
            XCTAssertEqual([back.attempts, back.rescues], [held.attempts - 1, held.rescues + 1], "attempt refunded, rescue counted")
            XCTAssertEqual(back.state, .pending)
            XCTAssertEqual(try q.status().counts.total, jobs, "nothing lost or duplicated")
        }
        let p = try HelperProcess(helper, ["work", path, "final"])
        let last = HelperProcess.doneIds(p.waitForOutput())
        XCTAssertTrue(reportedDone.isDisjoint(with: last), "a job was completed twice")
        let q = try makeStore(path: path)
        XCTAssertEqual(try q.status().counts.succeeded, jobs)
        XCTAssertEqual(try q.list(JobFilter(limit: 100)).filter { $0.state == .succeeded }.count, jobs)
    }
}
