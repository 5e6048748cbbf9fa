import Queue
import Wire

/// `cancel`: pending and running jobs of a job id, batch or everything.
enum CancelHandler {
    static func handle(_ r: TargetRequest, _ c: DaemonContext) throws -> CountReply {
        let n = try c.store.cancel(try WireMapping.target(r))
        DaemonMetrics.shared.jobsCanceled(n)
        return CountReply(count: n)
    }
}

/// `retry`: failed (optionally canceled) jobs back to pending with their stored seeds.
enum RetryHandler {
    static func handle(_ r: TargetRequest, _ c: DaemonContext) throws -> CountReply {
        let n = try c.store.retry(try WireMapping.target(r), includeCanceled: r.includeCanceled)
        if n > 0 { c.wake.signal() }
        return CountReply(count: n)
    }
}

/// `pause` / `resume`: the whole queue or one batch.
enum PauseHandler {
    static func handle(_ r: PauseRequest, _ c: DaemonContext, paused: Bool) throws -> Empty {
        try c.store.setPaused(paused, batch: r.batch)
        if !paused { c.wake.signal() }
        return Empty()
    }
}

/// `shutdown`: drain (finish running jobs) or stop now (release them).
enum ShutdownHandler {
    static func handle(_ r: ShutdownRequest, _ c: DaemonContext) throws -> Empty {
        c.onShutdownRequest(r.drain)
        return Empty()
    }
}
