import Foundation
import XCTest
@testable import Queue
import PostgresTestServer

/// One queue under test: a fresh queue (a new SQLite file or a new PostgreSQL database) that `open` connects to,
/// as often as a test wants connections (each call is a separate connection, like a separate daemon).
struct StoreUnderTest {
    let name: String
    /// The SQLite path or PostgreSQL URL, for other processes (mdd-queue-helper).
    let location: String
    let connect: (QueueOptions) throws -> any JobQueue

    /// One more connection to the queue under test.
    func open(_ options: QueueOptions = QueueOptions()) throws -> any JobQueue { try connect(options) }
}

extension XCTestCase {
    /// Runs `body` once per store kind, with a fresh queue each: SQLite always; PostgreSQL when a private server
    /// could be started, else a visible `SKIP (no PostgreSQL server)` line (never a silent pass).
    func forEachStore(file: StaticString = #filePath, line: UInt = #line, _ body: (StoreUnderTest) throws -> Void) throws {
        let path = try tempDir() + "/queue.sqlite"
        try run(StoreUnderTest(name: "sqlite", location: path) { try JobStore(path: path, options: $0) }, body, file: file, line: line)
        switch TestPostgres.shared {
        case .failure(let why):
            print("SKIP (no PostgreSQL server): \(name) ran against SQLite only: \(why)")
        case .success(let server):
            let url = try server.createDatabase()
            try run(StoreUnderTest(name: "postgresql", location: url) { try PostgresJobStore(url: url, options: $0) }, body, file: file, line: line)
        }
    }

    private func run(_ store: StoreUnderTest, _ body: (StoreUnderTest) throws -> Void, file: StaticString, line: UInt) throws {
        do { try body(store) } catch {
            XCTFail("[\(store.name)] \(error)", file: file, line: line)
        }
    }

    /// The test PostgreSQL server, or a visible `SKIP (no PostgreSQL server)` line and an XCTSkip.
    func postgresServer() throws -> TestPostgres {
        switch TestPostgres.shared {
        case .success(let s): return s
        case .failure(let why):
            print("SKIP (no PostgreSQL server): \(name): \(why)")
            throw XCTSkip("no PostgreSQL server: \(why)")
        }
    }

    /// Asserts that `body` throws `staleLease` for `id`.
    func assertStale(_ store: StoreUnderTest, _ id: Int64, _ what: String, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), "[\(store.name)] \(what) with a stale token", line: line) { error in
            XCTAssertEqual(error as? QueueError, .staleLease(jobId: id), "[\(store.name)] \(what)", line: line)
        }
    }

    /// Asserts that the status counts equal the rows, per batch and overall.
    func assertCountsMatchRows(_ store: StoreUnderTest, _ q: any JobQueue, line: UInt = #line) throws {
        var rows: [String: StateCounts] = [:], total = StateCounts()
        try q.export(batch: nil) { job in
            rows[job.batch, default: StateCounts()].add(job.state.rawValue, 1)
            total.add(job.state.rawValue, 1)
        }
        let status = try q.status()
        XCTAssertEqual(status.counts, total, "[\(store.name)] overall counts", line: line)
        for b in status.batches { XCTAssertEqual(b.counts, rows[b.name] ?? StateCounts(), "[\(store.name)] batch \(b.name)", line: line) }
    }
}
