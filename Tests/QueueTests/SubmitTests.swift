import XCTest
@testable import Queue

final class SubmitTests: XCTestCase {
    func testSeedsAreResolvedAtSubmitAndNeverChange() throws {
        let q = try makeStore()
        var jobs = prompts(3)
        jobs[1].seed = 777
        _ = try q.submit(batch: BatchSpec(name: "based", baseSeed: 100), jobs: jobs)
        XCTAssertEqual(try q.list(JobFilter(batch: "based")).map(\.seed), [100, 777, 102])
        _ = try q.submit(batch: BatchSpec(name: "random"), jobs: prompts(50))
        let seeds = try q.list(JobFilter(batch: "random")).map(\.seed)
        XCTAssertTrue(seeds.allSatisfy { $0 >= 0 })
        XCTAssertEqual(Set(seeds).count, 50, "random 63-bit seeds")
        let again = try q.submit(batch: BatchSpec(name: "random"), jobs: prompts(50))
        XCTAssertEqual(again.enqueued, 0)
        XCTAssertEqual(try q.list(JobFilter(batch: "random")).map(\.seed), seeds, "resubmitting keeps the seeds drawn first")
    }

    func testResubmittingTheSame10000LinesEnqueuesThemOnce() throws {
        var opts = JobStore.Options()
        opts.submitChunk = 3000
        let q = try makeStore(options: opts)
        let jobs = prompts(10_000)
        let first = try q.submit(batch: BatchSpec(name: "big", baseSeed: 1), jobs: jobs)
        let second = try q.submit(batch: BatchSpec(name: "big", baseSeed: 1), jobs: jobs)
        XCTAssertEqual(first.enqueued, 10_000)
        XCTAssertEqual(second.enqueued, 0)
        XCTAssertEqual(second.duplicates, 10_000)
        XCTAssertEqual(try q.status().counts.pending, 10_000)
    }

    func testInterruptedSubmitCanBeRerunInPieces() throws {
        let q = try makeStore()
        let jobs = prompts(100)
        _ = try q.submit(batch: BatchSpec(name: "b"), jobs: Array(jobs[0..<40]))
        let rest = try q.submit(batch: BatchSpec(name: "b"), jobs: jobs)
        XCTAssertEqual(rest.enqueued, 60)
        let tail = try q.submit(batch: BatchSpec(name: "b"), jobs: Array(jobs[90...]), startIndex: 90)
        XCTAssertEqual(tail.enqueued, 0, "keys line:91… already exist")
    }

    func testBadInputIsRejectedWithNothingInserted() throws {
        let q = try makeStore()
        let cases: [(JobSpec, String)] = [
            (JobSpec(prompt: "   "), "prompt: is empty"),
            (JobSpec(prompt: String(repeating: "x", count: JobLimits.maxPromptBytes + 1)), "prompt: is 4097 bytes"),
            (JobSpec(prompt: "ok", seed: -5), "seed: must be a non-negative"),
            (JobSpec(prompt: "ok", width: 5), "width: 5"),
            (JobSpec(prompt: "ok", steps: 0), "steps: 0"),
            (JobSpec(prompt: "ok", guidance: .nan), "guidance"),
            (JobSpec(prompt: "ok", key: ""), "key"),
        ]
        for (bad, message) in cases {
            let jobs = prompts(5) + [bad] + prompts(3)
            XCTAssertThrowsError(try q.submit(batch: BatchSpec(name: "b"), jobs: jobs)) { e in
                XCTAssertTrue("\(e)".contains("job 6: \(message)"), "\(e)")
            }
        }
        XCTAssertEqual(try q.status().counts.total, 0)
        XCTAssertTrue(try q.status().batches.isEmpty)
        for name in ["", "../etc", "a/b", "x y"] {
            XCTAssertThrowsError(try q.submit(batch: BatchSpec(name: name), jobs: prompts(1)), name)
        }
        XCTAssertThrowsError(try q.submit(batch: BatchSpec(name: "b", baseSeed: -1), jobs: prompts(1)))
    }
}
