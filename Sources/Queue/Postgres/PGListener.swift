import CLibPQ
import Foundation

/// LISTEN on the queue's wake-up channel over a dedicated libpq connection (a connection that LISTENs must not run
/// the store's transactions: notifications are only read between statements). `wait` polls the connection's socket,
/// then `PQconsumeInput` and `PQnotifies`. A lost connection is reopened at most once per `retrySeconds`; until then
/// `wait` answers `unavailable` and the daemon falls back to polling the queue.
final class PGListener: QueueWakeSource {
    /// The channel that submit, retry and resume notify (in the same transaction, so a wake-up follows the commit).
    static let channel = "mdd_jobs"
    private let conninfo: String
    private let location: String
    private let retrySeconds: Double
    private var conn: OpaquePointer?
    private var lastAttempt = Date.distantPast

    init(conninfo: String, location: String, retrySeconds: Double = 5) throws {
        self.conninfo = conninfo
        self.location = location
        self.retrySeconds = retrySeconds
        if let problem = connect() { throw QueueError.unusableDatabase(path: location, reason: "cannot LISTEN: \(problem)") }
    }

    deinit { PQfinish(conn) }

    func close() {
        PQfinish(conn)
        conn = nil
    }

    func wait(timeout: Double) -> QueueWake {
        guard let conn, PQstatus(conn) == CONNECTION_OK else { return reconnect(waiting: timeout) }
        if let n = drain(conn), n > 0 { return .notified(n) }  // read with an earlier batch of input
        var fds = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        let ready = poll(&fds, 1, Int32(max(0, timeout) * 1000))
        guard ready > 0 else { return .timedOut }  // 0: timeout; -1 (EINTR): the caller simply waits again
        guard PQconsumeInput(conn) == 1, let n = drain(conn) else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            close()
            return .unavailable("lost the LISTEN connection to \(location): \(message)")
        }
        return n > 0 ? .notified(n) : .timedOut
    }

    /// The notifications already read from the socket (nil when the connection broke).
    private func drain(_ conn: OpaquePointer) -> Int? {
        guard PQstatus(conn) == CONNECTION_OK else { return nil }
        var n = 0
        while let notify = PQnotifies(conn) {
            PQfreemem(notify)
            n += 1
        }
        return n
    }

    /// Reopens the connection, at most once per `retrySeconds` (the rest of the time waits as a poll would).
    private func reconnect(waiting timeout: Double) -> QueueWake {
        let next = lastAttempt.addingTimeInterval(retrySeconds)
        if Date() < next {
            Thread.sleep(forTimeInterval: min(timeout, next.timeIntervalSinceNow))  // a bounded idle wait, not a sync
            return .unavailable("not listening; reconnecting to \(location) every \(Int(retrySeconds)) s")
        }
        if let problem = connect() { return .unavailable("cannot LISTEN on \(location): \(problem)") }
        return .reconnected
    }

    /// Connects and LISTENs; returns what went wrong, or nil.
    private func connect() -> String? {
        lastAttempt = Date()
        close()
        let c = PQconnectdb(conninfo)
        guard let c, PQstatus(c) == CONNECTION_OK else {
            let message = c.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(c)
            return message.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let result = PQexec(c, "LISTEN \(Self.channel)")
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            let message = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(c)
            return message
        }
        conn = c
        return nil
    }
}
