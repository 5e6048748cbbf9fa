import CSQLite

/// Every failure of the job store, each with a specific message (the SQL, the field, the job).
public enum QueueError: Error, CustomStringConvertible, Equatable, Sendable {
    /// SQLite reported an error: result code, message and the statement.
    case sqlite(code: Int32, message: String, sql: String)
    /// PostgreSQL reported an error: SQLSTATE, message (with the detail) and the statement.
    case postgres(sqlstate: String, message: String, sql: String)
    /// The database file is not a usable mdd queue (corrupt, newer schema, not SQLite).
    case unusableDatabase(path: String, reason: String)
    /// A job in a submission is invalid; `index` is its 0-based position (line = index + 1 for files).
    case invalidJob(index: Int, field: String, reason: String)
    /// A batch name is invalid.
    case invalidBatch(name: String, reason: String)
    /// The named batch does not exist.
    case unknownBatch(String)
    /// The job id does not exist.
    case unknownJob(Int64)
    /// A job row holds a state this version does not know.
    case unknownState(jobId: Int64, state: String)
    /// A prune names no jobs to remove (neither a batch nor an age), or a negative age.
    case invalidPrune(reason: String)
    /// An online backup could not be written.
    case backup(path: String, reason: String)
    /// A statement was issued after the store was closed (the daemon is stopping).
    case closed(path: String, sql: String)
    /// The lease token no longer holds the job (expired and recovered, canceled, or settled already).
    case staleLease(jobId: Int64)
    /// The database server is out of reach (restarting, or cut off by the network); the store redials on a backoff.
    case unreachable(location: String, reason: String, retryIn: Double)
    /// A PostgreSQL statement ran past the store's statement timeout and the server canceled it (nothing it did
    /// stays): a lock held elsewhere for that long, or an overloaded server.
    case statementTimeout(location: String, seconds: Double, sql: String)

    public var description: String {
        switch self {
        case let .sqlite(code, message, sql): return "SQLite error \(code): \(message) (in: \(sql.prefix(120)))"
        case let .postgres(state, message, sql): return "PostgreSQL error \(state): \(message) (in: \(sql.prefix(120)))"
        case let .unusableDatabase(path, reason): return "\(path): \(reason)"
        case let .invalidJob(index, field, reason): return "job \(index + 1): \(field): \(reason)"
        case let .invalidBatch(name, reason): return "batch '\(name)': \(reason)"
        case let .unknownBatch(name): return "unknown batch '\(name)'"
        case let .unknownJob(id): return "unknown job \(id)"
        case let .unknownState(id, state):
            return "job \(id) has state '\(state)', which this mdd does not know (written by a newer version, or edited by hand)"
        case let .invalidPrune(reason): return "prune: \(reason)"
        case let .backup(path, reason): return "backup to \(path): \(reason)"
        case let .closed(path, sql): return "\(path): the queue is closed (the daemon is stopping); not run: \(sql.prefix(80))"
        case let .staleLease(id): return "job \(id): lease is no longer held (expired, canceled or already settled)"
        case let .unreachable(location, reason, retryIn):
            return "\(location): the queue database is unreachable (\(reason)); reconnecting in \(String(format: "%.1f", retryIn)) s"
        case let .statementTimeout(location, seconds, sql):
            return "\(location): a statement ran longer than the statement timeout (\(String(format: "%g", seconds)) s) and was canceled, "
                + "nothing it did was kept (a lock held elsewhere, or an overloaded server; raise queue_statement_timeout "
                + "if it is legitimately slow) (in: \(sql.prefix(120)))"
        }
    }
}

extension QueueError {
    /// A statement was canceled by the statement timeout: nothing changed, and it may be repeated.
    public var isStatementTimeout: Bool {
        if case .statementTimeout = self { return true }
        return false
    }

    /// SQLite found no space to write (SQLITE_FULL): the disk or the file system quota is full.
    public var isDiskFull: Bool {
        if case let .sqlite(code, _, _) = self { return code & 0xFF == SQLITE_FULL }  // extended codes masked
        if case let .postgres(state, _, _) = self { return state == "53100" }  // disk_full
        return false
    }
}
