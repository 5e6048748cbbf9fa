import Foundation

/// Whether a store reaches its database now, for `mdctl health`, the logs and the render workers.
///
/// Only a queue on another host can be out of reach (PostgreSQL: a restart, a network partition); the embedded
/// SQLite file is always "connected". While unreachable, a store answers at once with `QueueError.unreachable`
/// instead of dialling on every call: it redials on an exponential backoff of its own (`ReconnectBackoff`).
public struct QueueConnectivity: Sendable, Equatable {
    /// True while the last connection attempt or statement found the database.
    public var reachable: Bool
    /// When the current state began (database clock is not available here: the host's, for display only).
    public var since: Date
    /// Why the database is out of reach (libpq's message), nil while reachable.
    public var reason: String?
    /// Failed reconnection attempts since the connection was lost.
    public var failedAttempts: Int
    /// Seconds until the next reconnection attempt, nil while reachable.
    public var nextAttemptIn: Double?

    public init(reachable: Bool, since: Date, reason: String? = nil, failedAttempts: Int = 0, nextAttemptIn: Double? = nil) {
        self.reachable = reachable
        self.since = since
        self.reason = reason
        self.failedAttempts = failedAttempts
        self.nextAttemptIn = nextAttemptIn
    }

    /// One line for logs and `mdctl health`: "connected" or "unreachable for 12 s (…); next attempt in 4 s".
    public var summary: String {
        if reachable { return "connected" }
        let down = Int(Date().timeIntervalSince(since).rounded())
        let next = nextAttemptIn.map { String(format: "; reconnecting in %.1f s", max(0, $0)) } ?? ""
        return "unreachable for \(down) s after \(failedAttempts) failed attempt(s) (\(reason ?? "no reason given"))\(next)"
    }
}

/// A store whose database can be out of reach (a server on the network). The daemon shows its state in
/// `mdctl health` and logs each change of state once.
public protocol RemoteQueue: AnyObject {
    /// The connection's current state; never waits on a statement in flight.
    var connectivity: QueueConnectivity { get }
    /// Calls `handler` on each change of state (lost, regained), on the thread that noticed it.
    func onConnectivityChange(_ handler: @escaping @Sendable (QueueConnectivity) -> Void)
}

extension QueueError {
    /// The database could not be reached or the connection broke: nothing is known to have changed, the call may
    /// be repeated once the store reconnects. (A COMMIT cut off in flight may have committed: callers that repeat
    /// a completion check the row when the repeat finds the lease gone.)
    public var isConnectionLost: Bool {
        switch self {
        case .unreachable: return true
        // Class 08: connection exceptions; 57P01–57P03: the server is shutting down or starting up.
        case let .postgres(state, _, _): return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
        default: return false
        }
    }
}
