import Foundation
import Queue
import XCTest

/// Every field of a submitted job comes back as sent, on both stores: PostgreSQL sends submits with COPY's text
/// format, where backslashes and NULLs need escaping, and must keep the lines' order as the jobs' order.
final class SubmitFieldsTests: XCTestCase {
    func testFieldsAndOrderRoundTripThroughSubmit() throws {
        try forEachStore { s in
            let q = try s.open()
            let specs = [
                JobSpec(prompt: #"a \ backslash, a \N that is not NULL, "quotes" and 'apostrophes'"#, negativePrompt: #"blur\"#),
                JobSpec(prompt: "émoji 🟥 and ümlauts", seed: 42, width: 256, height: 128, steps: 3, guidance: 1.5, priority: 2, key: "mine"),
                JobSpec(prompt: "plain", negativePrompt: nil),
            ] + (0..<300).map { JobSpec(prompt: "line \($0)") }
            let r = try q.submit(batch: BatchSpec(name: "fields", baseSeed: 10), jobs: specs)
            XCTAssertEqual(r.enqueued, specs.count, s.name)
            let jobs = try q.list(JobFilter(batch: "fields", limit: 1000))
            XCTAssertEqual(jobs.map(\.prompt), specs.map(\.prompt), "\(s.name): prompts, in line order")
            XCTAssertEqual(jobs.map(\.negativePrompt), specs.map(\.negativePrompt), s.name)
            XCTAssertEqual(jobs[1].key, "mine", s.name)
            XCTAssertEqual([jobs[1].seed, Int64(jobs[1].width ?? 0), Int64(jobs[1].height ?? 0), Int64(jobs[1].steps), Int64(jobs[1].priority)],
                           [42, 256, 128, 3, 2], s.name)
            XCTAssertEqual(jobs[1].guidance, 1.5, s.name)
            XCTAssertNil(jobs[0].width, s.name)
            XCTAssertEqual(jobs[2].seed, 12, "\(s.name): base seed + line index")
            XCTAssertEqual(try q.submit(batch: BatchSpec(name: "fields", baseSeed: 10), jobs: specs).duplicates, specs.count, s.name)
        }
    }
}
