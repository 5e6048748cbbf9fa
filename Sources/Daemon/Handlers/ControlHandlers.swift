import Queue
import Wire

/// `cancel`: pending and running jobs of a job id, batch or everything.
enum CancelHandler {
    static func handle(_ r: TargetRequest, _ c: DaemonContext) throws -> CountReply {
        let n = try c.store.cancel(try WireMapping.target(r))
        DaemonMetrics.shared.jobsCanceled(n)
        // Running jobs among them stop rendering at once: each worker renews its lease now and finds it lost.
        if n > 0 { c.workers.forEach { $0.checkLease() } }
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

/// `backup`: a consistent copy of the queue database while the daemon runs (SQLite's online backup API).
enum BackupHandler {
    static func handle(_ r: BackupRequest, _ c: DaemonContext) throws -> BackupReply {
        // The daemon's working directory is not the client's: mdctl sends an absolute path.
        guard r.path.hasPrefix("/") else { throw WireError(.invalid, "backup path must be absolute, got '\(r.path)'") }
        // A NUL would cut the path short in the C calls but not in the Swift checks before them.
        if let problem = PromptText.controlCharacter(r.path, field: "backup path") { throw WireError(.invalid, problem) }
        let bytes = try c.store.backup(to: r.path)
        c.log.info("queue backed up", metadata: ["path": "\(r.path)", "bytes": "\(bytes)"])
        return BackupReply(path: r.path, bytes: bytes)
    }
}

/// `prune`: deletes finished jobs' rows (never pending or running ones); their PNG files stay where they are. With
/// an age, nodes silent for longer are forgotten too, so the nodes table does not keep every name ever used.
enum PruneHandler {
    static func handle(_ r: PruneRequest, _ c: DaemonContext) throws -> PruneReply {
        let n = try c.store.prune(PruneFilter(batch: r.batch, finishedBeforeSecondsAgo: r.finishedBeforeSeconds), dryRun: r.dryRun)
        // Never less than a lease: a node that beats (every third of a lease) is never forgotten, however short the age.
        let nodes = try r.finishedBeforeSeconds.map {
            try c.store.forgetNodes(silentFor: max($0, c.configuration.leaseSeconds), dryRun: r.dryRun)
        }
        if !r.dryRun {
            c.log.info("pruned \(n) finished job(s)\(nodes.map { " and \($0) silent node(s)" } ?? "")",
                       metadata: ["batch": "\(r.batch ?? "*")", "finished_before_s": "\(r.finishedBeforeSeconds.map { String($0) } ?? "-")"])
        }
        return PruneReply(removed: n, dryRun: r.dryRun, nodesRemoved: nodes)
    }
}
