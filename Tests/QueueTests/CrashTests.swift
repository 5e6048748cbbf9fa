import Foundation
import XCTest
@testable import Queue

/// SIGKILL a helper process at many deterministic moments while it submits, claims and completes; afterwards
/// every submitted job exists exactly once, as succeeded or pending, and every completion it reported is durable.
final class CrashTests: XCTestCase {
    func testKillDuringSubmitLeavesWholeChunksOnly() throws {
        let path = try tempDir() + "/q.sqlite"
        var rng = SplitMix64(seed: 2024)
        let total = 3000, chunk = 100
        for point in 0..<25 {
            let p = try HelperProcess(productPath("mdd-queue-helper"), ["submit", path, "crash", "\(total)", "\(chunk)"])
            usleep(UInt32(2_000 + rng.next() % 60_000))
            p.kill()
            let out = p.waitForOutput()
            let q = try makeStore(path: path)
            let n = try q.status().counts.total
            XCTAssertEqual(n % chunk, 0, "kill point \(point): a chunk was torn (\(n) jobs)")
            let reported = out.split(separator: "\n").filter { $0.hasPrefix("submitted") }.count
            XCTAssertGreaterThanOrEqual(n, reported * chunk, "kill point \(point): a reported chunk was lost")
        }
        // Rerunning the interrupted submit completes it without duplicates.
        let p = try HelperProcess(productPath("mdd-queue-helper"), ["submit", path, "crash", "\(total)", "\(chunk)"])
        _ = p.waitForOutput()
        let q = try makeStore(path: path)
        XCTAssertEqual(try q.status().counts.total, total)
        let seeds = try q.list(JobFilter(limit: 10_000)).map(\.seed)
        XCTAssertEqual(seeds, (0..<Int64(total)).map { 1000 + $0 }, "one row per line, seeds base + index")
    }

    func testKillDuringClaimAndCompleteLosesNothing() throws {
        let path = try tempDir() + "/q.sqlite"
        let jobs = 1500
        _ = try makeStore(path: path).submit(batch: BatchSpec(name: "b"), jobs: prompts(jobs))
        var rng = SplitMix64(seed: 77)
        var reportedDone = Set<Int64>()
        var killPoints = 0
        while killPoints < 30 {
            let p = try HelperProcess(productPath("mdd-queue-helper"), ["work", path, "k\(killPoints)"])
            usleep(UInt32(5_000 + rng.next() % 40_000))
            p.kill()
            let out = p.waitForOutput()
            let ids = HelperProcess.doneIds(out)
            XCTAssertTrue(reportedDone.isDisjoint(with: ids), "a job was completed twice")
            reportedDone.formUnion(ids)
            killPoints += 1
            let q = try makeStore(path: path)
            _ = try q.recoverExpiredLeases(all: true)
            let status = try q.status().counts
            XCTAssertEqual(status.total, jobs, "a job was lost or duplicated")
            XCTAssertEqual(status.running, 0)
            XCTAssertGreaterThanOrEqual(status.succeeded, reportedDone.count, "a reported completion was not durable")
            if status.pending == 0 { break }
        }
        // Finish whatever is left and check the final tally.
        let p = try HelperProcess(productPath("mdd-queue-helper"), ["work", path, "final"])
        reportedDone.formUnion(HelperProcess.doneIds(p.waitForOutput()))
        let q = try makeStore(path: path)
        XCTAssertEqual(try q.status().counts.succeeded, jobs)
        XCTAssertEqual(try q.list(JobFilter(limit: 10_000)).filter { $0.state == .succeeded }.count, jobs)
        print("[crash] \(killPoints) kill points during claim/complete; \(reportedDone.count) completions reported, \(jobs) succeeded")
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
