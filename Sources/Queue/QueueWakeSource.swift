/// Wake-ups from the queue itself: a store that several daemons share tells every one of them when work arrives
/// (PostgreSQL's LISTEN/NOTIFY), so idle workers need not poll. The embedded SQLite queue has none (its only
/// daemon wakes its own workers).
public protocol QueueWakeSource: AnyObject {
    /// Blocks up to `timeout` seconds for a notification. Not thread-safe: one thread owns a source.
    func wait(timeout: Double) -> QueueWake
    /// Stops listening and closes the connection.
    func close()
}

/// Why `QueueWakeSource.wait` returned.
public enum QueueWake: Sendable, Equatable {
    /// This many notifications arrived (work was submitted, retried or resumed somewhere in the cluster).
    case notified(Int)
    /// Listening again after the connection was lost: anything submitted meanwhile went unheard, so look now.
    case reconnected
    case timedOut
    /// Not listening (the connection is down and a reconnect failed); callers poll until it comes back.
    case unavailable(String)
}
