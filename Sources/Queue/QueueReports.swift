/// Job counts per state.
public struct StateCounts: Codable, Sendable, Equatable {
    public var pending = 0, running = 0, succeeded = 0, failed = 0, canceled = 0
    public init() {}
    public var total: Int { pending + running + succeeded + failed + canceled }
    /// Jobs not yet settled.
    public var remaining: Int { pending + running }

    mutating func add(_ state: String, _ n: Int) {
        switch JobState(rawValue: state) {
        case .pending: pending += n
        case .running: running += n
        case .succeeded: succeeded += n
        case .failed: failed += n
        case .canceled: canceled += n
        case nil: break
        }
    }
}

/// One batch's summary.
public struct BatchStatus: Codable, Sendable, Equatable {
    public var name: String
    public var createdAt: Double
    public var paused: Bool
    public var counts: StateCounts
}

/// The queue at a glance.
public struct QueueStatus: Codable, Sendable, Equatable {
    public var paused: Bool
    public var counts: StateCounts
    public var batches: [BatchStatus]
}

/// Percentiles of one latency, in milliseconds.
public struct Percentiles: Codable, Sendable, Equatable {
    public var p50: Double, p95: Double, p99: Double, mean: Double
}

/// Throughput and latency over one window.
public struct WindowStats: Codable, Sendable, Equatable {
    /// "1m", "5m", "1h" or "all".
    public var window: String
    public var seconds: Double?
    public var completed: Int
    public var failed: Int
    public var imagesPerMinute: Double
    /// Stage name → percentiles: queue_wait, text, unet, decode, png, total.
    public var stages: [String: Percentiles]
}

/// The `stats` report: one entry per window plus an ETA for what is left.
public struct QueueStats: Codable, Sendable, Equatable {
    public var windows: [WindowStats]
    public var remaining: Int
    /// Seconds to finish `remaining` at the most recent non-zero rate, nil if nothing completed lately.
    public var etaSeconds: Double?
}

/// Filters for `list`.
public struct JobFilter: Sendable, Equatable {
    public var batch: String?
    public var state: JobState?
    /// Keyset pagination: only jobs with id greater than this.
    public var afterId: Int64 = 0
    public var limit: Int = 100
    public init(batch: String? = nil, state: JobState? = nil, afterId: Int64 = 0, limit: Int = 100) {
        self.batch = batch
        self.state = state
        self.afterId = afterId
        self.limit = limit
    }
}
