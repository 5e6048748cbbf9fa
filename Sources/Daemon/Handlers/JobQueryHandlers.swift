import Queue
import Wire

/// `list`: jobs filtered by batch and state, keyset-paginated.
enum ListHandler {
    static func handle(_ r: ListRequest, _ c: DaemonContext) throws -> ListReply {
        var state: JobState?
        if let s = r.state {
            guard let st = JobState(rawValue: s) else {
                throw WireError(.invalid, "unknown state '\(s)' (\(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            state = st
        }
        let jobs = try c.store.list(JobFilter(batch: r.batch, state: state, afterId: r.afterId, limit: r.limit))
        return ListReply(jobs: jobs.map(WireMapping.job))
    }
}

/// `show`: one job.
enum ShowHandler {
    static func handle(_ r: ShowRequest, _ c: DaemonContext) throws -> JobInfo {
        guard let j = try c.store.job(r.id) else { throw QueueError.unknownJob(r.id) }
        return WireMapping.job(j)
    }
}

/// `export`: one page of a batch's manifest (the client pages with after_id until a short page).
enum ExportHandler {
    static func handle(_ r: ExportRequest, _ c: DaemonContext) throws -> ListReply {
        let jobs = try c.store.list(JobFilter(batch: r.batch, afterId: r.afterId, limit: min(max(r.limit, 1), 5000)))
        return ListReply(jobs: jobs.map(WireMapping.job))
    }
}

/// `stats`: images/min and p50/p95/p99 per stage over 1 min, 5 min, 1 h and all time.
enum StatsHandler {
    static func handle(_ r: StatusRequest, _ c: DaemonContext) throws -> StatsReply {
        let s = try c.store.stats(batch: r.batch)
        return StatsReply(
            windows: s.windows.map { w in
                StatsWindow(window: w.window, completed: w.completed, failed: w.failed, imagesPerMinute: w.imagesPerMinute,
                            stages: w.stages.mapValues { Percentile(p50: $0.p50, p95: $0.p95, p99: $0.p99, mean: $0.mean) })
            },
            remaining: s.remaining, etaSeconds: s.etaSeconds)
    }
}
