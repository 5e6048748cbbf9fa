import CLibPQ
import Foundation

/// Rows of one PostgreSQL result in text format (NULL as nil), and the count of rows a command touched.
struct PGRows {
    var rows: [[String?]] = []
    var affected = 0

    /// The first column of the first row.
    var scalar: String? { rows.first?.first ?? nil }
}

/// Typed access to one text-format row (columns the query guarantees non-NULL read as 0 / "" if NULL).
struct PGRow {
    let values: [String?]
    func text(_ i: Int) -> String { values[i] ?? "" }
    func optionalText(_ i: Int) -> String? { values[i] }
    func int(_ i: Int) -> Int64 { values[i].flatMap { Int64($0) } ?? 0 }
    func optionalInt(_ i: Int) -> Int64? { values[i].flatMap { Int64($0) } }
    func double(_ i: Int) -> Double { optionalDouble(i) ?? 0 }
    func optionalDouble(_ i: Int) -> Double? { values[i].flatMap { Double($0) } }
    func bool(_ i: Int) -> Bool { values[i] == "t" }
}

/// One libpq connection (owned handle, finished in deinit or `close()`). Not thread-safe: `PostgresJobStore`
/// serialises access. Parameters and results travel as text, so no libpq type leaves this file.
final class PGConnection {
    private var conn: OpaquePointer?
    /// The URL without a password, for messages.
    let location: String
    /// Paces reconnection after the server is lost and reports the server's state (see `ReconnectBackoff`); shared
    /// by the connections of one store, which reach one server.
    let backoff: ReconnectBackoff
    /// When the current connection was made (at init, or by the last successful redial): a break found on a
    /// connection older than the backoff's last recovery belongs to that outage, already reported and over.
    private var connectedAt = Date()
    /// Seconds after which the server cancels a statement (`statement_timeout`), nil for none; kept across redials.
    private var statementTimeout: Double?

    /// Connects with a libpq URI or keyword string; libpq itself reads PGPASSWORD and ~/.pgpass.
    init(conninfo: String, location: String, backoff: ReconnectBackoff = ReconnectBackoff()) throws {
        self.location = location
        self.backoff = backoff
        conn = PQconnectdb(Self.withNetworkTimeouts(conninfo))
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let message = conn.map { Self.message(PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(conn)
            self.conn = nil
            throw QueueError.unusableDatabase(path: location, reason: "cannot connect: \(message)")
        }
        try configureSession()
    }

    /// Statements prepared on this connection (SQL text → name); a new connection starts without any.
    private var prepared: [String: String] = [:]
    /// At most this many: statement texts that vary (a batch of another size) must not fill the server's memory.
    private static let preparedLimit = 64

    /// Per-connection settings, made again on every new connection.
    private func configureSession() throws {
        prepared = [:]
        // Notices (e.g. "relation already exists, skipping") would go to stderr by default.
        _ = try? send("SET client_min_messages = warning", [])
        if let t = statementTimeout { try send("SET statement_timeout = \(Int((t * 1000).rounded()))", []) }
    }

    /// Makes the server cancel any statement of this connection that runs longer than `seconds` (nil or 0: never),
    /// now and after every redial; such a statement fails with `QueueError.statementTimeout`.
    func limitStatements(to seconds: Double?) throws {
        statementTimeout = seconds.flatMap { $0 > 0 ? $0 : nil }
        try send("SET statement_timeout = \(Int(((statementTimeout ?? 0) * 1000).rounded()))", [])
    }

    /// Adds libpq's network timeouts to a URI that sets none, so that a cut-off link fails a call within seconds
    /// instead of TCP's minutes: `connect_timeout` bounds a dial, keepalives notice a silent peer while idle, and
    /// `tcp_user_timeout` (ms) fails a statement whose bytes stay unacknowledged. Unix-socket connections ignore them.
    static func withNetworkTimeouts(_ conninfo: String) -> String {
        guard conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://") else { return conninfo }
        let defaults = [("connect_timeout", "5"), ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"),
                        ("keepalives_count", "3"), ("tcp_user_timeout", "10000")]
        let missing = defaults.filter { !conninfo.contains("\($0.0)=") }.map { "\($0.0)=\($0.1)" }
        guard !missing.isEmpty else { return conninfo }
        return conninfo + (conninfo.contains("?") ? "&" : "?") + missing.joined(separator: "&")
    }

    deinit { PQfinish(conn) }

    /// Closes the connection; later statements throw `closed`.
    func close() {
        PQfinish(conn)
        conn = nil
    }

    /// The open connection, redialled if the server dropped it (a restart, a network blip) when the backoff allows;
    /// `unreachable` while it does not or the attempt fails; `closed` after close().
    private func handle(_ sql: String) throws -> OpaquePointer {
        guard let conn else { throw QueueError.closed(path: location, sql: sql) }
        if PQstatus(conn) == CONNECTION_OK {
            guard Self.closedByServer(conn) else { return conn }
            noteBroken()  // found before sending: reported like a break a statement finds
        }
        if let wait = backoff.waitBeforeAttempt() {
            throw QueueError.unreachable(location: location, reason: backoff.reason, retryIn: wait)
        }
        PQreset(conn)
        guard PQstatus(conn) == CONNECTION_OK else {
            backoff.failed(Self.message(PQerrorMessage(conn)))
            throw QueueError.unreachable(location: location, reason: backoff.reason, retryIn: backoff.waitBeforeAttempt() ?? 0)
        }
        backoff.succeeded()
        connectedAt = Date()  // after the recovery is recorded: this connection's next break is a new outage's
        try configureSession()
        return conn
    }

    /// Whether the server closed this idle connection (a restart, a terminated backend): its socket then polls
    /// readable with the end of the stream, which `PQconsumeInput` turns into CONNECTION_BAD. Checked before every
    /// statement (one poll(2) that does not wait), so a statement goes out only on a connection that was alive: an
    /// autocommit statement that fails in flight may have committed, but one stopped here was never sent, and the
    /// redial makes it safe to send. (Since the control connection took the reads, the work connection's first
    /// statement after a server restart is often a one-statement claim or completion.)
    private static func closedByServer(_ conn: OpaquePointer) -> Bool {
        let fd = PQsocket(conn)
        guard fd >= 0 else { return true }
        // A shutting-down server sends an error message, then closes: one read takes the message, the next the end.
        for _ in 0..<4 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 0) > 0 else { return false }
            if PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK { return true }
        }
        return false
    }

    /// Notes a statement that found the connection broken, so that the next call redials on the backoff.
    private func noteBroken() {
        if let conn, PQstatus(conn) != CONNECTION_OK { backoff.broken(Self.message(PQerrorMessage(conn)), connectedAt: connectedAt) }
    }

    /// Runs one statement with text parameters ($1, $2, …) and returns its rows. A statement sent outside a
    /// transaction (a read, or the BEGIN of a write) that finds the connection lost is retried once on a new
    /// connection; inside a transaction the error is thrown, since the transaction is gone with the connection
    /// (every write runs in one, so nothing that may have committed is ever sent twice).
    @discardableResult
    func query(_ sql: String, _ params: [String?] = []) throws -> PGRows {
        let idle = conn.map { PQtransactionStatus($0) == PQTRANS_IDLE } ?? false
        do {
            return try send(sql, params)
        } catch QueueError.postgres(_, _, _) where idle && conn.map({ PQstatus($0) != CONNECTION_OK }) == true {
            return try send(sql, params)  // noteBroken allowed one immediate redial
        }
    }

    /// Runs one statement that is a transaction of its own (autocommit): one round trip where BEGIN, the statement
    /// and COMMIT take three. Never resent after a lost connection, since it may have committed; the caller sees
    /// the error (like a COMMIT lost in flight).
    @discardableResult
    func autocommit(_ sql: String, _ params: [String?] = []) throws -> PGRows {
        try send(sql, params, prepare: true)
    }

    /// Sends one statement; with `prepare`, as a statement prepared once per connection, so that the server parses
    /// and analyses the text once instead of on every call (the claim and the worker's one-statement path were
    /// planned in 0.19–0.31 ms each time, as long as they ran).
    private func send(_ sql: String, _ params: [String?], prepare: Bool = false) throws -> PGRows {
        let conn = try handle(sql)
        let name = prepare ? try preparedName(sql, params.count, conn) : nil
        let copies = params.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let values = copies.map { UnsafePointer<CChar>($0) }
        let result = values.withUnsafeBufferPointer { v in
            if let name { return PQexecPrepared(conn, name, Int32(params.count), v.baseAddress, nil, nil, 0) }
            return PQexecParams(conn, sql, Int32(params.count), nil, v.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        do { return try rows(of: result, sql: sql) } catch { noteBroken(); throw error }
    }

    /// The name of `sql` prepared on this connection, preparing it first if needed; nil past `preparedLimit`.
    private func preparedName(_ sql: String, _ count: Int, _ conn: OpaquePointer) throws -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedLimit else { return nil }
        let name = "mdd_\(prepared.count)"
        let result = PQprepare(conn, name, sql, Int32(count), nil)
        defer { PQclear(result) }
        do { _ = try rows(of: result, sql: sql) } catch { noteBroken(); throw error }
        prepared[sql] = name
        return name
    }

    /// Runs `COPY … FROM STDIN` with `data` in COPY's text format; returns the rows copied. One round trip for a
    /// whole chunk of rows, without the per-parameter parsing of a multi-row INSERT.
    @discardableResult
    func copyIn(_ sql: String, data: String) throws -> Int {
        let conn = try handle(sql)
        let start = PQexec(conn, sql)
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            defer { PQclear(start) }
            do { _ = try rows(of: start, sql: sql) } catch { noteBroken(); throw error }
            throw QueueError.postgres(sqlstate: "XX000", message: "COPY did not start", sql: sql)
        }
        PQclear(start)
        let sent = data.utf8CString.withUnsafeBufferPointer { b in PQputCopyData(conn, b.baseAddress, Int32(b.count - 1)) }
        let ended = PQputCopyEnd(conn, sent == 1 ? nil : "the client could not send the rows")
        var copied: Result<Int, Error> = .success(0)
        while let result = PQgetResult(conn) {  // COPY's own result, then nil
            do { copied = .success(try rows(of: result, sql: sql).affected) } catch { copied = .failure(error) }
            PQclear(result)
        }
        if sent != 1 || ended != 1 { noteBroken() }
        do { return try copied.get() } catch { noteBroken(); throw error }
    }

    /// Runs several statements without parameters (migrations).
    func exec(_ sql: String) throws {
        let conn = try handle(sql)
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        do { _ = try rows(of: result, sql: sql) } catch { noteBroken(); throw error }
    }

    private func rows(of result: OpaquePointer?, sql: String) throws -> PGRows {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw error(result, sql: sql) }
        guard let result else { return PGRows() }
        var out = PGRows()
        out.affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        let n = PQntuples(result), columns = PQnfields(result)
        out.rows.reserveCapacity(Int(n))
        for r in 0..<n {
            out.rows.append((0..<columns).map { c in
                PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c))
            })
        }
        return out
    }

    /// The error of a failed statement: SQLSTATE (08006 for a lost connection) and libpq's message; a statement
    /// the statement timeout canceled (57014 with the server's "statement timeout" wording: an administrator's
    /// pg_cancel_backend has the same code) is `statementTimeout`.
    private func error(_ result: OpaquePointer?, sql: String) -> QueueError {
        let state = result.flatMap { r in PQresultErrorField(r, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } } ?? "08006"
        let message = result.map { Self.message(PQresultErrorMessage($0)) } ?? conn.map { Self.message(PQerrorMessage($0)) } ?? "no connection"
        if state == "57014", message.contains("statement timeout"), let t = statementTimeout {
            return .statementTimeout(location: location, seconds: t, sql: sql)
        }
        return .postgres(sqlstate: state, message: message.isEmpty ? "no result" : message, sql: sql)
    }

    private static func message(_ p: UnsafePointer<CChar>?) -> String {
        p.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    }

    /// Runs `body` in one transaction: COMMIT when it returns, ROLLBACK when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN")
        do {
            let value = try body()
            try query("COMMIT")
            return value
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }
}
