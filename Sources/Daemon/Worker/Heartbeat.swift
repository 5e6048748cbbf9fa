import Foundation
import Logging
import Queue

/// Renews a lease on a timer thread while a job is held (rendered, then settled). A lease found lost (the job was
/// canceled, or expired and taken back) stops the beats, marks the job for discarding and calls `onLost`, which
/// stops the render in flight. A renewal that fails for want of disk space (the queue's disk is full) is retried
/// every `diskFullRetry` seconds instead of at the next beat, so that the lease is renewed within that time of the
/// space coming back, well before the daemon's recovery looks for expired leases again (see `DiskPause`). Other
/// failures are logged and retried at the next beat, while the lease still runs.
final class Heartbeat: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let queue = DispatchQueue(label: "mdd.heartbeat")
    private let store: any JobQueue
    private let lease: Lease
    private let log: Logger
    private let every: Double
    private let diskFullRetry: Double
    private let onLost: @Sendable () -> Void
    private let lock = NSLock()
    private var lostValue = false
    /// When renewals began failing for a full disk (nil while they succeed).
    private var diskFullSince: Date?
    /// Set by `stop()`: a beat queued before it does nothing (the job is settled, its lease gone by design).
    private var stopped = false

    init(store: any JobQueue, lease: Lease, every seconds: Double, diskFullRetry: Double = 1, log: Logger,
         onLost: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.lease = lease
        self.log = log
        self.every = seconds
        self.diskFullRetry = min(diskFullRetry, seconds)
        self.onLost = onLost
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + seconds, repeating: seconds)
        timer.setEventHandler { [weak self] in self?.beat() }
        timer.resume()
    }

    /// Whether the lease was lost: the job's result must be neither written nor settled.
    var lost: Bool { lock.withLock { lostValue } }

    /// Renews the lease once (the timer's work; tests call it directly).
    func beat() {
        guard !lock.withLock({ stopped }) else { return }
        do {
            try store.heartbeat(lease)
            if let since = lock.withLock({ () -> Date? in defer { diskFullSince = nil }; return diskFullSince }) {
                log.info("job \(lease.job.id): lease renewed again after \(Int(Date().timeIntervalSince(since))) s of a full queue disk")
                timer.schedule(deadline: .now() + every, repeating: every)
            }
        } catch QueueError.staleLease {
            log.warning("job \(lease.job.id): lease lost (canceled or expired); its render is stopped and discarded")
            lock.withLock { lostValue = true }
            timer.cancel()
            onLost()
        } catch let e as QueueError where e.isConnectionLost {
            // The daemon logs the outage once; the beats go on, and the lease may expire meanwhile.
            log.debug("job \(lease.job.id): lease renewal failed while the queue is out of reach: \(e)")
        } catch where DiskPause.isDiskFull(error) {
            let first = lock.withLock { () -> Bool in
                defer { if diskFullSince == nil { diskFullSince = Date() } }
                return diskFullSince == nil
            }
            if first { log.error("job \(lease.job.id): lease renewal failed, the queue's disk is full: \(error); retrying every \(diskFullRetry) s") }
            timer.schedule(deadline: .now() + diskFullRetry, repeating: every)
        } catch {
            log.error("job \(lease.job.id): lease renewal failed: \(error); retrying at the next beat")
        }
    }

    /// Renews the lease now, off the caller's thread (after a cancel, so that a canceled render stops at once
    /// instead of at the next beat).
    func beatSoon() { queue.async { [weak self] in self?.beat() } }

    /// Ends the beats: the job was settled or handed back.
    func stop() {
        lock.withLock { stopped = true }
        timer.cancel()
    }
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
