import Foundation

/// Paces the redialling of a lost PostgreSQL connection and reports each change of state once.
///
/// The first attempt after a connection breaks is immediate (a server restart is over in a second, and the statement
/// that found the break is retried on the new connection). Each failed attempt then doubles the wait, from 0.25 s up
/// to `cap` (10 s), with ±20 % jitter so that a fleet cut off together does not redial in lockstep. Between
/// attempts every call fails at once with `QueueError.unreachable`: a render worker stops claiming, a settling one
/// keeps its result, and nobody waits on libpq's `connect_timeout` again and again under the store's lock.
///
/// One per server, shared by the connections a store keeps to it (work and control, see `PostgresJobStore`): an
/// outage is one event, logged once and paced once, whichever connection finds it first. A connection that finds
/// its break only after another one has already redialled (its link predates that recovery) redials at once
/// without reporting the outage again.
///
/// Thread-safe on its own lock: `mdctl health` reads it while a statement may hang under the store's lock.
final class ReconnectBackoff: @unchecked Sendable {
    let initial: Double
    let cap: Double
    private let lock = NSLock()
    private var state: QueueConnectivity
    private var nextAttempt: Date?
    /// When the server was last found again after an outage.
    private var lastRecovered: Date?
    private var handler: (@Sendable (QueueConnectivity) -> Void)?

    init(initial: Double = 0.25, cap: Double = 10) {
        self.initial = initial
        self.cap = cap
        state = QueueConnectivity(reachable: true, since: Date())
    }

    /// The current state, with the time left until the next attempt.
    var connectivity: QueueConnectivity {
        lock.withLock {
            var s = state
            s.nextAttemptIn = nextAttempt.map { $0.timeIntervalSinceNow }
            return s
        }
    }

    func onChange(_ handler: @escaping @Sendable (QueueConnectivity) -> Void) { lock.withLock { self.handler = handler } }

    /// Seconds to wait before the next attempt may dial, or nil if it may dial now.
    func waitBeforeAttempt() -> Double? {
        lock.withLock {
            guard let next = nextAttempt else { return nil }
            let left = next.timeIntervalSinceNow
            return left > 0 ? left : nil
        }
    }

    /// The reason of the current outage, for `unreachable` errors.
    var reason: String { lock.withLock { state.reason ?? "connection lost" } }

    /// Records a connection found broken by a statement (made at `connectedAt`). The first break of an outage
    /// reports it and allows one immediate redial; a break during an outage changes nothing (the redials are paced
    /// already); a break of a connection made before the last recovery is that outage's, reported and over, so the
    /// connection just redials.
    func broken(_ reason: String, connectedAt: Date) {
        let changed: QueueConnectivity? = lock.withLock {
            guard state.reachable, lastRecovered.map({ connectedAt < $0 }) != true else { return nil }
            return loseLocked(reason)
        }
        if let changed { notify(changed) }
    }

    /// Records a failed attempt to dial (or, while reachable, the first break of an outage); schedules the next attempt.
    func failed(_ reason: String) {
        let changed: QueueConnectivity? = lock.withLock {
            if state.reachable { return loseLocked(reason) }
            state.failedAttempts += 1
            state.reason = reason
            let wait = min(cap, initial * pow(2, Double(state.failedAttempts - 1))) * Double.random(in: 0.8...1.2)
            nextAttempt = Date().addingTimeInterval(wait)
            return nil
        }
        if let changed { notify(changed) }
    }

    /// Just lost: one immediate attempt (see the type's comment), then the doubling waits. Under the lock.
    private func loseLocked(_ reason: String) -> QueueConnectivity {
        state = QueueConnectivity(reachable: false, since: Date(), reason: reason, failedAttempts: 0)
        nextAttempt = Date()
        return state
    }

    /// Records a working connection (after a successful attempt); reports the recovery once.
    func succeeded() {
        let changed: QueueConnectivity? = lock.withLock {
            guard !state.reachable else { return nil }
            let attempts = state.failedAttempts
            state = QueueConnectivity(reachable: true, since: Date(), failedAttempts: attempts)
            nextAttempt = nil
            lastRecovered = Date()
            return state
        }
        if let changed { notify(changed) }
    }

    private func notify(_ s: QueueConnectivity) {
        let h = lock.withLock { handler }
        h?(s)
    }
}
