import Foundation
import Logging
import Queue

/// Turns the queue's own wake-ups (PostgreSQL NOTIFY on submit, retry and resume, from any node) into this
/// daemon's `WakeSignal`, on a thread of its own. While it listens, idle workers look at the queue every
/// `listeningPollSeconds` instead of every second; the poll stays as the fallback, for what sends no notification
/// (a retry's backoff running out, a lease rescued by another node) and for when the LISTEN connection is down.
final class WakeListener: @unchecked Sendable {
    /// Idle workers' poll while notifications arrive.
    static let listeningPollSeconds = 5.0
    /// Idle workers' poll without them (today's single-node cadence).
    static let pollSeconds = 1.0

    private let source: any QueueWakeSource
    private let wake: WakeSignal
    private let log: Logger
    private let lock = NSLock()
    private var stopRequested = false
    private var wakeups = 0
    private var listening = true
    private let finished = DispatchSemaphore(value: 0)

    init(source: any QueueWakeSource, wake: WakeSignal, log: Logger) {
        self.source = source
        self.wake = wake
        self.log = log
    }

    /// Wake-ups this daemon received by notification (health shows it; the fleet tests assert on it).
    var notificationWakeups: Int { lock.withLock { wakeups } }
    /// Whether the LISTEN connection is up.
    var isListening: Bool { lock.withLock { listening } }

    func start() {
        wake.idlePollSeconds = Self.listeningPollSeconds
        let t = Thread { [self] in run(); finished.signal() }
        t.name = "mdd-listen"
        t.start()
    }

    /// Stops listening; returns once the thread has closed its connection (it wakes at least twice a second).
    func stop() {
        lock.withLock { stopRequested = true }
        _ = finished.wait(timeout: .now() + 5)
    }

    private func run() {
        while !lock.withLock({ stopRequested }) {
            switch source.wait(timeout: 0.5) {
            case .notified:
                lock.withLock { wakeups += 1 }
                wake.signal()
            case .reconnected:
                log.info("listening for queue notifications again; idle workers poll every \(Int(Self.listeningPollSeconds)) s")
                setListening(true)
                wake.signal()  // what was submitted while not listening went unheard
            case .timedOut:
                break
            case .unavailable(let why):
                if isListening { log.warning("\(why); idle workers poll the queue every second until it is back") }
                setListening(false)
            }
        }
        source.close()
    }

    private func setListening(_ on: Bool) {
        lock.withLock { listening = on }
        wake.idlePollSeconds = on ? Self.listeningPollSeconds : Self.pollSeconds
    }
}
