import CSQLite
import Foundation

/// One SQLite connection (owned handle, closed in deinit) with prepared-statement caching.
/// Not thread-safe: `JobStore` serialises access.
final class SQLiteConnection {
    private var db: OpaquePointer?
    let path: String
    private var cache: [String: Statement] = [:]

    init(path: String, readOnly: Bool = false) throws {
        self.path = path
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw QueueError.unusableDatabase(path: path, reason: msg)
        }
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(db)
    }

    /// Checkpoints the whole WAL into the database file (truncating the WAL) and closes the connection, so that
    /// the database file alone is complete. Later calls throw `closed`.
    func close() throws {
        let db = try handle("sqlite3_close")
        // One row: busy (1 when a reader kept the checkpoint from finishing), WAL frames, frames checkpointed.
        let busy = try scalarInt("PRAGMA wal_checkpoint(TRUNCATE)") != 0
        cache.removeAll()  // finalizes every statement (none is held outside the cache): close fails while any is left
        let rc = sqlite3_close(db)
        guard rc == SQLITE_OK else { throw QueueError.sqlite(code: rc, message: String(cString: sqlite3_errmsg(db)), sql: "sqlite3_close") }
        self.db = nil
        if busy { throw QueueError.sqlite(code: SQLITE_BUSY, message: "another connection was reading; the WAL was not fully checkpointed", sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// The open handle, or `closed` for a statement issued after `close()`.
    func handle(_ sql: String) throws -> OpaquePointer {
        guard let db else { throw QueueError.closed(path: path, sql: sql) }
        return db
    }

    /// Runs one or more statements without results.
    func exec(_ sql: String) throws {
        let db = try handle(sql)
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(err)
            throw QueueError.sqlite(code: rc, message: msg, sql: sql)
        }
    }

    /// A cached prepared statement, reset and with bindings cleared.
    func prepare(_ sql: String) throws -> Statement {
        if let s = cache[sql] { s.reset(); return s }
        let db = try handle(sql)
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql) }
        let s = Statement(stmt, connection: self, sql: sql)
        cache[sql] = s
        return s
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            throw rollback(after: error)
        }
    }

    /// Rolls back after `error` and returns what to throw. A connection must never stay inside a transaction (its
    /// next BEGIN would fail): if ROLLBACK fails, every statement is reset and it is tried once more, and a second
    /// failure is reported with the first error.
    private func rollback(after error: Error) -> Error {
        // SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR, …): nothing to undo.
        guard let db, sqlite3_get_autocommit(db) == 0 else { return error }
        do { try exec("ROLLBACK"); return error } catch {}
        resetAll()  // a statement still stepping can keep ROLLBACK from finishing
        do {
            try exec("ROLLBACK")
            return error
        } catch let rollbackError {
            return QueueError.sqlite(code: SQLITE_ERROR, message: "ROLLBACK failed (\(rollbackError)) after: \(error)", sql: "ROLLBACK")
        }
    }

    /// Whether a transaction is open on this connection.
    var inTransaction: Bool { db.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    /// Resets every cached statement. A statement left mid-result keeps a read snapshot open, and a later
    /// BEGIN IMMEDIATE on a stale snapshot fails with SQLITE_BUSY without waiting; callers reset after each API call.
    func resetAll() {
        for s in cache.values { s.reset() }
    }

    var changes: Int { Int(sqlite3_changes(db)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(db) }

    func error(_ rc: Int32, _ sql: String) -> QueueError {
        .sqlite(code: rc, message: String(cString: sqlite3_errmsg(db)), sql: sql)
    }

    func setBusyTimeout(ms: Int32) { sqlite3_busy_timeout(db, ms) }

    /// Lowers SQLite's limit on one string, blob or row (bytes): tests use it to make a bind fail with SQLITE_TOOBIG.
    func limitLength(to bytes: Int32) { sqlite3_limit(db, SQLITE_LIMIT_LENGTH, bytes) }

    /// The value of a one-row, one-column query.
    func scalarInt(_ sql: String, _ args: [SQLValue] = []) throws -> Int64? {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(args)
        return try s.step() ? s.optionalInt(0) : nil
    }
}

/// Values bound to statement parameters.
enum SQLValue {
    case int(Int64), double(Double), text(String), null

    static func opt(_ s: String?) -> SQLValue { s.map(SQLValue.text) ?? .null }
    static func opt(_ i: Int?) -> SQLValue { i.map { .int(Int64($0)) } ?? .null }
    static func opt(_ d: Double?) -> SQLValue { d.map(SQLValue.double) ?? .null }
}

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement owned by its connection's cache.
final class Statement {
    private let stmt: OpaquePointer
    private unowned let connection: SQLiteConnection
    let sql: String

    init(_ stmt: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.stmt = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    func bind(_ values: [SQLValue]) throws {
        for (i, v) in values.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch v {
            case .int(let x): rc = sqlite3_bind_int64(stmt, idx, x)
            case .double(let x): rc = sqlite3_bind_double(stmt, idx, x)
            case .text(let s): rc = bindText(idx, s)
            case .null: rc = sqlite3_bind_null(stmt, idx)
            }
            try check(rc)
        }
    }

    // Typed binds for hot loops (no SQLValue array per row). Parameters are 1-based. Each result code is checked:
    // a failed bind leaves the previous row's value in place, which would be inserted silently.
    func bind(_ i: Int32, _ v: Int64) throws { try check(sqlite3_bind_int64(stmt, i, v)) }
    func bind(_ i: Int32, _ v: Double) throws { try check(sqlite3_bind_double(stmt, i, v)) }
    func bind(_ i: Int32, _ v: String) throws { try check(bindText(i, v)) }

    func bind(_ i: Int32, _ v: Int?) throws { if let v { try bind(i, Int64(v)) } else { try check(sqlite3_bind_null(stmt, i)) } }
    func bind(_ i: Int32, _ v: String?) throws { if let v { try bind(i, v) } else { try check(sqlite3_bind_null(stmt, i)) } }

    /// Binds all of the string's UTF-8 bytes (a length of -1 would stop at the first NUL: "prod\0x" would match
    /// "prod"), so that text is stored and compared exactly as given.
    private func bindText(_ i: Int32, _ v: String) -> Int32 {
        var v = v
        return v.withUTF8 { bytes in
            // An empty buffer may have no address, and a NULL pointer would bind NULL instead of "".
            guard bytes.count > 0 else { return sqlite3_bind_text(stmt, i, "", 0, SQLITE_TRANSIENT) }
            return bytes.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(stmt, i, $0.baseAddress, Int32(clamping: $0.count), SQLITE_TRANSIENT) }
        }
    }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
    }

    /// Runs a statement whose parameters were bound with the typed binds; returns changed rows and resets.
    func runBound() throws -> Int {
        defer { sqlite3_reset(stmt) }
        while try step() {}
        return connection.changes
    }

    /// Advances; true while a row is available.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, sql)
        }
    }

    /// Binds, runs to completion and returns the number of changed rows.
    @discardableResult
    func run(_ values: [SQLValue] = []) throws -> Int {
        try bind(values)
        while try step() {}
        return connection.changes
    }

    func int(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
    func optionalInt(_ col: Int32) -> Int64? { isNull(col) ? nil : int(col) }
    func double(_ col: Int32) -> Double { sqlite3_column_double(stmt, col) }
    func optionalDouble(_ col: Int32) -> Double? { isNull(col) ? nil : double(col) }
    /// The column's text, all of its bytes (not up to a NUL).
    func text(_ col: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, col) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, col))), as: UTF8.self)
    }
    func optionalText(_ col: Int32) -> String? { isNull(col) ? nil : text(col) }
    func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }
}
