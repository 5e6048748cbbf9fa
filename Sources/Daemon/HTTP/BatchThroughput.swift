import Foundation

/// Images per second of each batch over the last minute (or five when the last minute had too few), from the
/// completions this daemon saw, kept in memory. The index page shows a rate and an ETA per batch from it: the
/// queue's per-batch statistics walk the batch's rows (seconds on a million-job batch), too slow for a page that
/// re-loads every few seconds. Only the last five minutes are kept, so memory follows the rate, not the history.
final class BatchThroughput: @unchecked Sendable {
    static let window = 300.0

    private let lock = NSLock()
    private var finished: [String: [Double]] = [:]

    /// One image of `batch` finished at `time` (Unix seconds).
    func record(batch: String, at time: Double) {
        lock.withLock {
            var times = finished[batch, default: []]
            times.append(time)
            if let first = times.first, first < time - Self.window {
                times.removeFirst(times.firstIndex { $0 >= time - Self.window } ?? times.count)
            }
            finished[batch] = times
        }
    }

    /// Images per second of `batch` at `now`: over the last minute, else the last five, the completions after the
    /// window's first one divided by the time since it (so a batch that started seconds ago is not averaged over
    /// a whole minute, and a stalled one decays). 0 without two completions in five minutes.
    func rate(batch: String, now: Double) -> Double {
        let times = lock.withLock { finished[batch] ?? [] }
        for window in [60.0, Self.window] {
            let recent = times.filter { $0 > now - window && $0 <= now }
            if recent.count >= 2, let first = recent.first {
                return Double(recent.count - 1) / max(now - first, 0.001)
            }
        }
        return 0
    }
}
