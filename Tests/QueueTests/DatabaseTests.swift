import XCTest
@testable import Queue

final class DatabaseTests: XCTestCase {
    func testFrozenV1DatabaseOpensAndMigrates() throws {
        let fixture = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/v1.sqlite").path
        let copy = try tempDir() + "/v1.sqlite"
        try FileManager.default.copyItem(atPath: fixture, toPath: copy)
        let q = try makeStore(path: copy)
        XCTAssertEqual(try q.schemaVersion(), Schema.version)
        let jobs = try q.list(JobFilter(batch: "legacy-batch"))
        XCTAssertEqual(jobs.map(\.state), [.succeeded, .succeeded, .failed, .canceled, .pending, .pending])
        XCTAssertEqual(jobs.map(\.seed), [1000, 1001, 1002, 1003, 1004, 1005])
        XCTAssertEqual(jobs[2].error, "boom")
        XCTAssertEqual(jobs[0].timings?.totalMs, 10)
        let lease = try XCTUnwrap(try q.claim(worker: "new"))
        XCTAssertEqual(lease.job.id, 5)
    }

    func testCorruptDatabaseIsRefusedClearly() throws {
        let path = try tempDir() + "/bad.sqlite"
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try makeStore(path: path)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("not a usable mdd database"), "\(e)")
        }
    }

    func testNewerSchemaIsRefused() throws {
        let path = try tempDir() + "/future.sqlite"
        _ = try makeStore(path: path)
        let db = try SQLiteConnection(path: path)
        try db.exec("PRAGMA user_version = 99")
        XCTAssertThrowsError(try makeStore(path: path)) { e in XCTAssertTrue("\(e)".contains("newer"), "\(e)") }
    }

    func testSettingsAreApplied() throws {
        let q = try makeStore()
        XCTAssertEqual(try q.db.scalarInt("PRAGMA synchronous"), 2, "synchronous = FULL")
        let s = try q.db.prepare("PRAGMA journal_mode")
        try s.bind([])
        XCTAssertTrue(try s.step())
        XCTAssertEqual(s.text(0), "wal")
    }
}
