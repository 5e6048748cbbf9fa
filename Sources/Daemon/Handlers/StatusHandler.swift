import Queue
import Wire

/// `status`: counts per state and batch, current rate and ETA.
enum StatusHandler {
    static func handle(_ r: StatusRequest, _ c: DaemonContext) throws -> StatusReply {
        let s = try c.store.status()
        let stats = try c.store.stats(batch: r.batch, recentOnly: true)
        let recent = stats.windows.first { $0.window == "1m" && $0.completed > 0 } ?? stats.windows.first { $0.window == "5m" }
        var batches = s.batches.map { BatchInfo(name: $0.name, createdAt: $0.createdAt, paused: $0.paused, counts: WireMapping.counts($0.counts)) }
        if let name = r.batch {
            batches = batches.filter { $0.name == name }
            if batches.isEmpty { throw QueueError.unknownBatch(name) }
        }
        let counts = r.batch == nil ? WireMapping.counts(s.counts) : batches[0].counts
        return StatusReply(paused: s.paused, counts: counts, batches: batches, imagesPerMinute: recent?.imagesPerMinute ?? 0,
                           etaSeconds: stats.etaSeconds, model: c.engine.modelName, workers: try WorkersHandler.clusterWorkerCount(c),
                           diskFull: c.disk.status)
    }
}

/// Queue → wire conversions.
enum WireMapping {
    static func counts(_ s: StateCounts) -> Counts {
        var c = Counts()
        c.pending = s.pending
        c.running = s.running
        c.succeeded = s.succeeded
        c.failed = s.failed
        c.canceled = s.canceled
        return c
    }

    static func job(_ j: Job) -> JobInfo {
        JobInfo(id: j.id, batch: j.batch, key: j.key, prompt: j.prompt, negativePrompt: j.negativePrompt, seed: j.seed,
                width: j.width, height: j.height, steps: j.steps, guidance: j.guidance, priority: j.priority, state: j.state.rawValue,
                attempts: j.attempts, maxAttempts: j.maxAttempts, workerId: j.workerId, createdAt: j.createdAt, claimedAt: j.claimedAt,
                finishedAt: j.finishedAt, error: j.error, path: j.outputPath, sha256: j.outputSHA256,
                timings: WireTimings(queueWaitMs: j.queueWaitMs, textMs: j.timings?.textMs, unetMs: j.timings?.unetMs,
                                     decodeMs: j.timings?.decodeMs, pngMs: j.timings?.pngMs, totalMs: j.timings?.totalMs))
    }

    static func target(_ r: TargetRequest) throws -> QueueTarget {
        switch (r.id, r.batch, r.all) {
        case (let id?, nil, false): return .job(id)
        case (nil, let b?, false): return .batch(b)
        case (nil, nil, true): return .all
        default: throw WireError(.invalid, "name exactly one of: a job id, a batch, or all")
        }
    }
}
