import Foundation
import XCTest
@testable import Queue
import PostgresTestServer

/// What only the PostgreSQL store has: URL rules, migrations serialised between daemons, a newer schema refused.
final class PostgresStoreTests: XCTestCase {
    func testPasswordInTheURLIsRefused() {
        for url in ["postgresql://mdd:secret@db:5432/mdd", "postgresql://mdd@db/mdd?password=secret", "mysql://mdd@db/mdd"] {
            XCTAssertThrowsError(try PostgresJobStore.refusePassword(in: url), url) { error in
                XCTAssertFalse("\(error)".contains("secret"), "the message repeats the password: \(error)")
            }
        }
        XCTAssertNoThrow(try PostgresJobStore.refusePassword(in: "postgresql://mdd@db:5432/mdd"))
        XCTAssertNoThrow(try PostgresJobStore.refusePassword(in: "postgresql://mdd@localhost:5432/mdd?host=/run/pg"))
    }

    private func server() throws -> TestPostgres { try postgresServer() }

    func testDaemonsStartingTogetherMigrateOnce() throws {
        let url = try server().createDatabase()
        let lock = NSLock()
        var versions: [Int] = [], errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let v = try PostgresJobStore(url: url).schemaVersion()
                lock.withLock { versions.append(v) }
            } catch { lock.withLock { errors.append("\(error)") } }
        }
        XCTAssertEqual(errors, [])
        XCTAssertEqual(versions, Array(repeating: PostgresSchema.version, count: 4))
        let db = try PGConnection(conninfo: url, location: "check")
        XCTAssertEqual(try db.query("SELECT count(*) FROM mdd_schema").scalar, String(PostgresSchema.version))
    }

    func testNewerSchemaIsRefusedWithAClearMessage() throws {
        let url = try server().createDatabase()
        _ = try PostgresJobStore(url: url)
        try PGConnection(conninfo: url, location: "edit").query("INSERT INTO mdd_schema (version) VALUES (99)")
        XCTAssertThrowsError(try PostgresJobStore(url: url)) { error in
            XCTAssertTrue("\(error)".contains("schema version 99 is newer than this mdd (\(PostgresSchema.version))"), "\(error)")
        }
    }

    func testErrorsNameTheStatementAndClosedIsReported() throws {
        let url = try server().createDatabase()
        let store = try PostgresJobStore(url: url)
        XCTAssertThrowsError(try store.db.query("SELECT nope FROM jobs")) { error in
            guard case let QueueError.postgres(state, _, sql) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(state, "42703")  // undefined_column
            XCTAssertEqual(sql, "SELECT nope FROM jobs")
        }
        XCTAssertThrowsError(try store.backup(to: "/tmp/x")) { XCTAssertTrue("\($0)".contains("pg_dump")) }
        try store.close()
        XCTAssertThrowsError(try store.status()) { error in
            guard case QueueError.closed = error else { return XCTFail("\(error)") }
        }
    }

    func testAServerRestartIsSurvivedByReconnecting() throws {
        let server = try server()
        let store = try PostgresJobStore(url: server.createDatabase())
        _ = try store.submit(batch: BatchSpec(name: "r"), jobs: [JobSpec(prompt: "a"), JobSpec(prompt: "b")])
        let held = try XCTUnwrap(try store.claim(worker: "w"))
        try server.restart()
        XCTAssertEqual(try store.status().counts.running, 1, "a read after the restart reconnects")
        try store.complete(held, output: JobOutput(path: "/o/1.png", sha256: "x", timings: JobTimings(textMs: 1, unetMs: 1, decodeMs: 1, pngMs: 1, totalMs: 4)))
        XCTAssertEqual(try store.status().counts.succeeded, 1, "the lease survived the restart: it is in the database")
        XCTAssertNotNil(try store.claim(worker: "w"))
    }

    func testUnreachableServerIsAnUnusableDatabase() {
        XCTAssertThrowsError(try PostgresJobStore(url: "postgresql://mdd@127.0.0.1:1/mdd?connect_timeout=2")) { error in
            guard case let QueueError.unusableDatabase(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.hasPrefix("cannot connect"), reason)
        }
    }
}
