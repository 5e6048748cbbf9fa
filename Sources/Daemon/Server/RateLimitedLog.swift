import Foundation
import Logging

/// Warnings about clients, at most `perSecond` lines a second: a flood of connections is logged (uid and pid of
/// each refused or evicted peer, up to the budget) without flooding the journal; the lines dropped are counted
/// in the next one written.
final class RateLimitedLog: @unchecked Sendable {
    private let log: Logger
    private let perSecond: Int
    private let lock = NSLock()
    private var windowStart = Date.distantPast
    private var written = 0
    private var dropped = 0

    init(log: Logger, perSecond: Int) {
        self.log = log
        self.perSecond = perSecond
    }

    func warning(_ message: String) {
        let line: String? = lock.withLock {
            let now = Date()
            if now.timeIntervalSince(windowStart) >= 1 {
                windowStart = now
                written = 0
            }
            guard written < perSecond else {
                dropped += 1
                return nil
            }
            written += 1
            defer { dropped = 0 }
            return dropped > 0 ? "\(message) (and \(dropped) similar line(s) not logged)" : message
        }
        if let line { log.warning("\(line)") }
    }
}
