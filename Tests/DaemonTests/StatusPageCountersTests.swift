@testable import Daemon
import XCTest

/// The in-memory counters behind the index page: per-minute completions for the plot, per-batch rates for ETAs.
final class StatusPageCountersTests: XCTestCase {
    func testCompletionHistoryCountsPerMinuteForAnHour() {
        let h = CompletionHistory()
        let t0 = 6_000_000.0  // a minute boundary
        for s in [0.0, 1, 59, 60, 3599] { h.record(at: t0 + s) }
        let minutes = h.perMinute(now: t0 + 3599)
        XCTAssertEqual(minutes.count, 60)
        XCTAssertEqual(minutes.first, 3, "the oldest minute shown holds t0, t0+1, t0+59")
        XCTAssertEqual(minutes[1], 1)
        XCTAssertEqual(minutes.last, 1)
        XCTAssertEqual(h.perMinute(now: t0 + 3600 + 60).reduce(0, +), 1, "an hour later only the last minute is left")
    }

    func testBatchRatesUseTheLastMinuteElseFive() {
        let r = BatchThroughput()
        for i in 0..<30 { r.record(batch: "a", at: 1000 + Double(i)) }
        XCTAssertEqual(r.rate(batch: "a", now: 1029), 1, accuracy: 1e-9, "one a second, not 30 over a whole minute")
        XCTAssertEqual(r.rate(batch: "a", now: 1059), 29.0 / 59, accuracy: 1e-9, "stalled: decays")
        XCTAssertEqual(r.rate(batch: "a", now: 1200), 29.0 / 200, accuracy: 1e-9, "none in the last minute: the last five")
        XCTAssertEqual(r.rate(batch: "a", now: 2000), 0)
        XCTAssertEqual(r.rate(batch: "b", now: 1030), 0)
        r.record(batch: "a", at: 2000)
        XCTAssertEqual(r.rate(batch: "a", now: 2000), 0, "one completion makes no rate")
        r.record(batch: "a", at: 2002)
        XCTAssertEqual(r.rate(batch: "a", now: 2002), 0.5, accuracy: 1e-9)
    }
}
