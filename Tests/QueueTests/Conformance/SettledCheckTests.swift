import Foundation
import XCTest
@testable import Queue

/// The rows a worker reads when the repeat of a transition whose COMMIT was cut off is refused as stale: the
/// transition's own row says "it went through", a rescue's, a cancel's or another worker's says "it did not".
/// Run against every store, on rows made by the real transitions.
final class SettledCheckTests: XCTestCase {
    private let batch = BatchSpec(name: "cut", maxAttempts: 3)

    func testAFailureIsRecognisedOnlyInTheRowItLeft() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(4))
            // Retryable: pending, waiting out its backoff (so the next claims take other jobs).
            let retried = try XCTUnwrap(try q.claim(worker: "w"))
            XCTAssertEqual(try q.fail(retried, error: "disk trouble", retryable: true), .pending, s.name)
            let row = try XCTUnwrap(try q.job(retried.job.id))
            XCTAssertEqual(retried.showsFailure(in: row, by: "w", error: "disk trouble"), .pending, s.name)
            XCTAssertNil(retried.showsFailure(in: row, by: "v", error: "disk trouble"), "\(s.name): another worker's")
            XCTAssertNil(retried.showsFailure(in: row, by: "w", error: "another error"), "\(s.name): another failure")
            // Not retryable: failed.
            let dead = try XCTUnwrap(try q.claim(worker: "w"))
            XCTAssertEqual(try q.fail(dead, error: "bad size", retryable: false), .failed, s.name)
            XCTAssertEqual(dead.showsFailure(in: try XCTUnwrap(try q.job(dead.job.id)), by: "w", error: "bad size"), .failed, s.name)
            // Never committed: the lease expired and was rescued, or the job was canceled.
            let rescued = try XCTUnwrap(try q.claim(worker: "w"))
            XCTAssertEqual(try q.recoverExpiredLeases(all: true).rescued, 1, s.name)
            XCTAssertNil(rescued.showsFailure(in: try XCTUnwrap(try q.job(rescued.job.id)), by: "w", error: "boom"), "\(s.name): rescued")
            let canceled = try XCTUnwrap(try q.claim(worker: "w"))
            XCTAssertEqual(try q.cancel(.job(canceled.job.id)), 1, s.name)
            XCTAssertNil(canceled.showsFailure(in: try XCTUnwrap(try q.job(canceled.job.id)), by: "w", error: "canceled"), "\(s.name): canceled")
            try assertCountsMatchRows(s, q)
        }
    }

    func testACompletionIsRecognisedOnlyInTheRowItLeft() throws {
        try forEachStore { s in
            let q = try s.open()
            _ = try q.submit(batch: batch, jobs: prompts(2))
            let done = try XCTUnwrap(try q.claim(worker: "w"))
            try q.complete(done, output: output(done.job.id))
            let row = try XCTUnwrap(try q.job(done.job.id))
            XCTAssertTrue(done.showsCompletion(in: row, by: "w", output: output(done.job.id)), s.name)
            var other = output(done.job.id)
            other.sha256 = String(repeating: "b", count: 64)
            XCTAssertFalse(done.showsCompletion(in: row, by: "w", output: other), "\(s.name): another file")
            XCTAssertFalse(done.showsCompletion(in: row, by: "v", output: output(done.job.id)), "\(s.name): another worker")
            let rescued = try XCTUnwrap(try q.claim(worker: "w"))
            _ = try q.recoverExpiredLeases(all: true)
            XCTAssertFalse(rescued.showsCompletion(in: try XCTUnwrap(try q.job(rescued.job.id)), by: "w", output: output(rescued.job.id)), s.name)
        }
    }
}
