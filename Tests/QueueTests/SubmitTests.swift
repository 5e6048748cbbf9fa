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
            // SQLite's text binding stops at a NUL: "the blue\0square" was stored as "the blue".
            (JobSpec(prompt: "the blue\u{0}square"), "prompt: contains control character U+0000 at character 9"),
            (JobSpec(prompt: "ok", negativePrompt: "a\nb"), "negative_prompt: contains control character U+000A at character 2"),
            (JobSpec(prompt: "ok", key: "line\u{1B}1"), "key: contains control character U+001B"),
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

    func testTabIsTheOneControlCharacterStoredAsGiven() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "tab"), jobs: [JobSpec(prompt: "a red\tcircle", negativePrompt: "\tblur")])
        let job = try XCTUnwrap(try q.list(JobFilter(batch: "tab")).first)
        XCTAssertEqual(job.prompt, "a red\tcircle")
        XCTAssertEqual(job.negativePrompt, "\tblur")
    }

    /// base + index must stay below 2^63: the largest base seeds are used to the last seed, one more is refused and
    /// names the job (the sum used to wrap negative with `&+`, and the worker's `UInt64(seed)` trapped the daemon).
    func testDerivedSeedsStayBelow2To63() throws {
        let q = try makeStore()
        _ = try q.submit(batch: BatchSpec(name: "top", baseSeed: Int64.max - 1), jobs: prompts(2))
        XCTAssertEqual(try q.list(JobFilter(batch: "top")).map(\.seed), [Int64.max - 1, Int64.max])
        XCTAssertThrowsError(try q.submit(batch: BatchSpec(name: "over", baseSeed: Int64.max), jobs: prompts(2))) { e in
            XCTAssertTrue("\(e)".hasPrefix("job 2: seed: base seed 9223372036854775807 + index 1 exceeds 2^63−1"), "\(e)")
        }
        // Later chunks continue the index: the overflow is found in whichever call reaches it.
        XCTAssertThrowsError(try q.submit(batch: BatchSpec(name: "chunk", baseSeed: Int64.max - 10), jobs: prompts(1), startIndex: 11)) { e in
            XCTAssertTrue("\(e)".hasPrefix("job 12: seed:"), "\(e)")
        }
        // A job that names its own seed derives nothing.
        var own = prompts(2)
        own[1].seed = 5
        _ = try q.submit(batch: BatchSpec(name: "own", baseSeed: Int64.max), jobs: own)
        XCTAssertEqual(try q.list(JobFilter(batch: "own")).map(\.seed), [Int64.max, 5])
        // A hostile start index cannot overflow the index arithmetic either.
        for start in [-1, Int.max - 1] {
            XCTAssertThrowsError(try q.submit(batch: BatchSpec(name: "idx", baseSeed: 1), jobs: prompts(2), startIndex: start), "\(start)")
        }
        XCTAssertEqual(try q.status().counts.total, 4)
    }
}
