import Foundation

/// Images finished per minute over the last hour, in memory (for the status page's throughput plot; the queue's
/// durable numbers stay in `stats`). Sixty counters in a ring, indexed by the minute since the epoch.
final class CompletionHistory: @unchecked Sendable {
    static let minutes = 60

    private let lock = NSLock()
    private var counts = [Int](repeating: 0, count: minutes)
    private var minuteOf = [Int](repeating: -1, count: minutes)

    /// Counts one image finished at `time` (Unix seconds).
    func record(at time: Double) {
        let minute = Int(time / 60)
        lock.withLock {
            let slot = minute % Self.minutes
            if minuteOf[slot] != minute { minuteOf[slot] = minute; counts[slot] = 0 }
            counts[slot] += 1
        }
    }

    /// Images per minute for the 60 minutes ending with the one holding `now`, oldest first.
    func perMinute(now: Double) -> [Int] {
        let current = Int(now / 60)
        return lock.withLock {
            (current - Self.minutes + 1...current).map { m in
                let slot = m % Self.minutes
                return minuteOf[slot] == m ? counts[slot] : 0
            }
        }
    }
}
