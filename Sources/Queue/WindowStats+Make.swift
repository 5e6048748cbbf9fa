extension WindowStats {
    /// The stage names of `stats`, in the order of the latency columns the stores read.
    static let stageNames = ["queue_wait", "text", "unet", "decode", "png", "total"]

    /// One window from the succeeded jobs' latency columns (queue wait, text, UNet, decode, PNG, total, in ms),
    /// the earliest claim among them, and the count of failures in the window.
    static func make(_ name: String, seconds: Double?, now: Double, columns cols: [[Double]], firstClaimed first: Double,
                     failed: Int) -> WindowStats {
        let n = cols[5].count
        // Rate over the window, or over the span since the first of these jobs was claimed when that is shorter
        // (a daemon that started 10 s ago and finished 100 jobs runs at 10/s, not 100/min).
        let span = max(min(seconds ?? .infinity, now - first), 1)
        var stages: [String: Percentiles] = [:]
        if n > 0 {
            for (i, key) in stageNames.enumerated() { stages[key] = JobStore.percentiles(cols[i]) }
        }
        return WindowStats(window: name, seconds: seconds, completed: n, failed: failed,
                           imagesPerMinute: n == 0 ? 0 : Double(n) / span * 60, stages: stages)
    }

    /// The ETA of `remaining` jobs at the most recent non-zero rate (nil when nothing completed lately).
    static func eta(remaining: Int, windows: [WindowStats]) -> Double? {
        let rate = windows.first { $0.imagesPerMinute > 0 && $0.window != "all" }?.imagesPerMinute ?? windows.last?.imagesPerMinute ?? 0
        return rate > 0 ? Double(remaining) / rate * 60 : (remaining == 0 ? 0 : nil)
    }
}
