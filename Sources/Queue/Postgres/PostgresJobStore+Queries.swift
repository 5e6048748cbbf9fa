extension PostgresJobStore {
    public func status() throws -> QueueStatus {
        try reading { db in
            var batches: [Int64: BatchStatus] = [:]
            var order: [Int64] = []
            for values in try db.query("SELECT id, name, created_at, paused FROM batches ORDER BY id").rows {
                let b = PGRow(values: values)
                batches[b.int(0)] = BatchStatus(name: b.text(1), createdAt: b.double(2), paused: b.bool(3), counts: StateCounts())
                order.append(b.int(0))
            }
            // The counters (migration 3), never the rows: constant time at any number of jobs.
            try Self.foldCounts(on: db)
            // The latency changes too: every daemon's watchdog polls status, which keeps the deltas that `stats`
            // sums to a few seconds' worth however rarely anyone asks for the all-time window.
            try Self.foldLatency(on: db)
            var total = StateCounts()
            for values in try db.query("SELECT batch_id, state, sum(n) FROM (\(Self.countRows)) u GROUP BY batch_id, state").rows {
                let c = PGRow(values: values)
                batches[c.int(0)]?.counts.add(c.text(1), Int(c.int(2)))
                total.add(c.text(1), Int(c.int(2)))
            }
            return QueueStatus(paused: try Self.queuePaused(on: db), counts: total, batches: order.compactMap { batches[$0] })
        }
    }

    public func job(_ id: Int64) throws -> Job? {
        try reading { try Self.jobs(on: $0, where: "j.id = $1::bigint", [String(id)]).first }
    }

    public func list(_ filter: JobFilter) throws -> [Job] {
        try reading { db in
            var clauses = ["j.id > $1::bigint"], params: [String?] = [String(filter.afterId)]
            if let batch = filter.batch { params.append(String(try batchId(batch, on: db))); clauses.append("j.batch_id = $\(params.count)::bigint") }
            if let state = filter.state { params.append(state.rawValue); clauses.append("j.state = $\(params.count)") }
            return try Self.jobs(on: db, where: clauses.joined(separator: " AND "), params, limit: max(1, min(filter.limit, 10_000)))
        }
    }

    public func stats(batch: String?, recentOnly: Bool) throws -> QueueStats {
        try reading { db in
            let now = Double(try db.query("SELECT \(Self.now)").scalar ?? "") ?? 0
            let batchId = try batch.map { String(try self.batchId($0, on: db)) }
            // Bounded windows scan their `jobs_finished` range for exact percentiles; all time reads the histograms
            // (±1 %, see `LatencyHistogram`).
            let windows = try JobStore.allWindows.prefix(recentOnly ? 2 : 4).map { name, seconds in
                try seconds == nil ? Self.allTimeWindow(on: db, name, now: now, batchId: batchId)
                                   : Self.window(on: db, name, seconds: seconds, now: now, batchId: batchId)
            }
            let remaining = Int(try db.query("SELECT coalesce(sum(n), 0) FROM (\(Self.countRows)) u WHERE state IN ('pending', 'running')"
                                             + (batchId == nil ? "" : " AND batch_id = $1::bigint"), batchId.map { [$0] } ?? []).scalar ?? "0") ?? 0
            return QueueStats(windows: windows, remaining: remaining, etaSeconds: WindowStats.eta(remaining: remaining, windows: windows))
        }
    }

    private static func window(on db: PGConnection, _ name: String, seconds: Double?, now: Double, batchId: String?) throws -> WindowStats {
        var clause = "finished_at >= $1::float8"
        var params: [String?] = [String(seconds.map { now - $0 } ?? 0)]
        if let batchId { clause += " AND batch_id = $2::bigint"; params.append(batchId) }
        // One range scan of `jobs_finished` for both states: a separate count of failed jobs walked the whole
        // (batch_id, state) index for want of a leading batch_id (~1 s at 10 million rows).
        let rows = try db.query("""
            SELECT queue_wait_ms, text_ms, unet_ms, decode_ms, png_ms, total_ms, claimed_at, state = 'failed' FROM jobs
            WHERE state IN ('succeeded', 'failed') AND \(clause)
            """, params).rows
        var cols = [[Double]](repeating: [], count: 6)
        var first = Double.infinity, failed = 0
        for values in rows {
            let r = PGRow(values: values)
            if r.bool(7) { failed += 1; continue }
            for c in 0..<6 { cols[c].append(r.double(c)) }
            first = min(first, r.double(6))
        }
        return WindowStats.make(name, seconds: seconds, now: now, columns: cols, firstClaimed: first, failed: failed)
    }

    /// The counter rows and the changes not folded into them yet; their sum per (batch, state) is the count.
    static let countRows = "SELECT batch_id, state, n FROM job_counts UNION ALL SELECT batch_id, state, n FROM job_count_deltas"

    /// Any 64-bit constant unique to mdd: held by the node folding the count changes.
    static let foldLock: Int64 = 0x6D64_645F_666F_6C64  // "mdd_fold"

    /// Folds the count changes appended since the last fold into `job_counts`, in one transaction, unless another
    /// node is folding right now (its fold serves everyone, so the lock is tried, not waited for; and with one
    /// folder at a time the counter rows never deadlock). The work is the changes since the last fold, which
    /// every node's status poll bounds to a few seconds' worth.
    static func foldCounts(on db: PGConnection) throws {
        try db.transaction {
            guard try db.query("SELECT pg_try_advisory_xact_lock($1::bigint)", [String(foldLock)]).scalar == "t" else { return }
            try db.query("""
                WITH d AS (DELETE FROM job_count_deltas RETURNING batch_id, state, n)
                INSERT INTO job_counts AS c (batch_id, state, n)
                SELECT batch_id, state, sum(n) FROM d GROUP BY batch_id, state ORDER BY batch_id, state
                ON CONFLICT (batch_id, state) DO UPDATE SET n = c.n + excluded.n
                """)
        }
    }
}
