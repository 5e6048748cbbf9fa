import Foundation
import Logging
import Queue

/// A full disk is a pause, not a failure. Writing an output (ENOSPC, EDQUOT) or the queue (SQLITE_FULL) that fails
/// for want of space is retried in place every `retryInterval` seconds, with the job's lease kept alive and no
/// attempt spent; meanwhile workers claim nothing, `status` and `health` say `disk full: PATH`, and the pause
/// ends by itself at the first retry that succeeds. (A million-job batch used to fail jobs after three quick
/// attempts because the disk was full for a minute.)
final class DiskPause: @unchecked Sendable {
    private let log: Logger
    private let wake: WakeSignal
    private let retryInterval: Double
    private let lock = NSLock()
    /// Paths found full, and since when.
    private var full: [String: Date] = [:]
    /// Retry loops waiting per path: when the last one gives up (the daemon stops), that pause is dropped.
    private var waiters: [String: Int] = [:]

    init(log: Logger, wake: WakeSignal, retryInterval: Double = 1) {
        self.log = log
        self.wake = wake
        self.retryInterval = retryInterval
    }

    /// "disk full: PATH" (paths sorted, comma separated) while paused, for `status`, `health` and the log.
    var status: String? {
        lock.withLock { full.isEmpty ? nil : "disk full: " + full.keys.sorted().joined(separator: ", ") }
    }

    /// Whether claims are paused.
    var isPaused: Bool { lock.withLock { !full.isEmpty } }

    /// Runs `body`; while it fails for want of space at `path`, pauses and retries. Returns nil if `stop()` turns
    /// true while paused (the caller hands its job back); other errors are thrown as they are.
    func retrying<T>(_ path: String, until stop: () -> Bool, _ body: () throws -> T) throws -> T? {
        var waiting = false
        defer { if waiting { leave(path, resumed: false) } }
        while true {
            do {
                let result = try body()
                if waiting { leave(path, resumed: true) }
                waiting = false
                return result
            } catch where Self.isDiskFull(error) {
                enter(path, error, joining: !waiting)
                waiting = true
                if stop() { return nil }
                wake.wait(timeout: retryInterval)  // a stop request signals it
                if stop() { return nil }
            }
        }
    }

    /// ENOSPC or EDQUOT from a file operation (our own or Foundation's), or SQLITE_FULL from the queue.
    static func isDiskFull(_ error: Error) -> Bool {
        if let e = error as? AtomicFile.Failure { return e.code == ENOSPC || e.code == EDQUOT }
        if let e = error as? QueueError { return e.isDiskFull }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain && ns.code == CocoaError.fileWriteOutOfSpace.rawValue { return true }
        if ns.domain == NSPOSIXErrorDomain && (ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT)) { return true }
        return (ns.userInfo[NSUnderlyingErrorKey] as? Error).map(isDiskFull) ?? false
    }

    private func enter(_ path: String, _ error: Error, joining: Bool) {
        let first: Bool = lock.withLock {
            if joining { waiters[path, default: 0] += 1 }
            guard full[path] == nil else { return false }
            full[path] = Date()
            return true
        }
        if first { log.error("disk full: \(path) (\(error)); claims paused, retrying every \(retryInterval) s without spending attempts") }
    }

    /// A retry loop ends: it succeeded (the pause is over), or gave up because the daemon stops (the pause is
    /// dropped with the last loop, so that nothing waits on a pause no one retries).
    private func leave(_ path: String, resumed: Bool) {
        let since: Date? = lock.withLock {
            waiters[path, default: 1] -= 1
            if waiters[path] == 0 { waiters[path] = nil }
            return resumed || waiters[path] == nil ? full.removeValue(forKey: path) : nil
        }
        guard resumed else { return }
        if let since { log.info("disk space is back: \(path); resuming after \(Int(Date().timeIntervalSince(since))) s") }
        wake.signal()  // workers waiting out the pause claim again
    }
}
