import Foundation
import Logging
import Queue

/// Renews a lease on a timer thread while a render runs. A lease found lost (the job was canceled, or expired
/// and taken back) stops the beats and marks the render for discarding; other failures are logged and retried at
/// the next beat, while the lease still runs.
final class Heartbeat: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let store: any JobQueue
    private let lease: Lease
    private let log: Logger
    private let lock = NSLock()
    private var lostValue = false

    init(store: any JobQueue, lease: Lease, every seconds: Double, log: Logger) {
        self.store = store
        self.lease = lease
        self.log = log
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mdd.heartbeat"))
        timer.schedule(deadline: .now() + seconds, repeating: seconds)
        timer.setEventHandler { [weak self] in self?.beat() }
        timer.resume()
    }

    /// Whether the lease was lost: the render's result must be neither written nor settled.
    var lost: Bool { lock.withLock { lostValue } }

    /// Renews the lease once (the timer's work; tests call it directly).
    func beat() {
        do {
            try store.heartbeat(lease)
        } catch QueueError.staleLease {
            log.warning("job \(lease.job.id): lease lost while rendering (canceled or expired); the render will be discarded")
            lock.withLock { lostValue = true }
            timer.cancel()
        } catch let e as QueueError where e.isConnectionLost {
            // The daemon logs the outage once; the beats go on, and the lease may expire meanwhile.
            log.debug("job \(lease.job.id): lease renewal failed while the queue is out of reach: \(e)")
        } catch {
            log.error("job \(lease.job.id): lease renewal failed: \(error); retrying at the next beat")
        }
    }

    func stop() { timer.cancel() }
}

/// Wakes idle workers when work may have arrived (submit, resume, retry).
final class WakeSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var generation = 0
    private var idlePoll = WakeListener.pollSeconds

    /// How long an idle worker waits before looking at the queue again unwoken (longer while notifications arrive).
    var idlePollSeconds: Double {
        get { condition.withLock { idlePoll } }
        set { condition.withLock { idlePoll = newValue } }
    }

    /// An idle worker's wait: until woken, or `idlePollSeconds`.
    func waitIdle() { wait(timeout: idlePollSeconds) }

    func signal() {
        condition.lock()
        generation += 1
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: Double) {
        condition.lock()
        let start = generation
        let deadline = Date().addingTimeInterval(timeout)
        while generation == start && condition.wait(until: deadline) {}
        condition.unlock()
    }
}
