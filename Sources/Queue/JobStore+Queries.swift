import Foundation

extension JobStore {
    /// Counts per state, overall and per batch.
    public func status() throws -> QueueStatus {
        try locked {
            var batches: [Int64: BatchStatus] = [:]
            var order: [Int64] = []
            let b = try db.prepare("SELECT id, name, created_at, paused FROM batches ORDER BY id")
            try b.bind([])
            while try b.step() {
                batches[b.int(0)] = BatchStatus(name: b.text(1), createdAt: b.double(2), paused: b.int(3) != 0, counts: StateCounts())
                order.append(b.int(0))
            }
            var total = StateCounts()
            let c = try db.prepare("SELECT batch_id, state, n FROM batch_counts")
            try c.bind([])
            while try c.step() {
                batches[c.int(0)]?.counts.add(c.text(1), Int(c.int(2)))
                total.add(c.text(1), Int(c.int(2)))
            }
            return QueueStatus(paused: try queuePausedLocked(), counts: total, batches: order.compactMap { batches[$0] })
        }
    }

    /// One job by id.
    public func job(_ id: Int64) throws -> Job? { try locked { try jobLocked(id) } }

    func jobLocked(_ id: Int64) throws -> Job? {
        let s = try db.prepare("SELECT \(Self.jobColumns) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE j.id = ?")
        try s.bind([.int(id)])
        return try s.step() ? try Self.decodeJob(s) : nil
    }

    /// Jobs matching `filter`, by id, at most `limit` (keyset pagination with `afterId`).
    public func list(_ filter: JobFilter) throws -> [Job] {
        try locked {
            var clauses = ["j.id > ?"], args: [SQLValue] = [.int(filter.afterId)]
            if let batch = filter.batch { clauses.append("j.batch_id = ?"); args.append(.int(try batchId(batch))) }
            if let state = filter.state { clauses.append("j.state = ?"); args.append(.text(state.rawValue)) }
            args.append(.int(Int64(max(1, min(filter.limit, 10_000)))))
            let s = try db.prepare("SELECT \(Self.jobColumns) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE \(clauses.joined(separator: " AND ")) ORDER BY j.id LIMIT ?")
            try s.bind(args)
            var out: [Job] = []
            while try s.step() { out.append(try Self.decodeJob(s)) }
            return out
        }
    }

    /// The windows `stats` reports.
    public static let allWindows: [(String, Double?)] = [("1m", 60), ("5m", 300), ("1h", 3600), ("all", nil)]

    /// Throughput and per-stage latency percentiles over 1 min, 5 min, 1 h and all time, plus the ETA.
    /// `recentOnly` computes just the 1 min and 5 min windows (what a frequently polled status needs: the 1 h
    /// window reads every row finished in the last hour). All-time percentiles come from histograms, within ±1 %.
    public func stats(batch: String?, recentOnly: Bool) throws -> QueueStats {
        try locked {
            let now = clock()
            let batchId = try batch.map { try self.batchId($0) }
            var windows: [WindowStats] = []
            for (name, seconds) in Self.allWindows.prefix(recentOnly ? 2 : 4) {
                // Bounded windows scan their `jobs_finished` range for exact percentiles; all time reads the
                // histograms (±1 %, see `LatencyHistogram`).
                windows.append(try seconds == nil ? allTimeWindowLocked(name, now: now, batchId: batchId)
                                                  : window(name, seconds: seconds, now: now, batchId: batchId))
            }
            var remainingSQL = "SELECT coalesce(sum(n), 0) FROM batch_counts WHERE state IN ('pending', 'running')"
            var args: [SQLValue] = []
            if let batchId { remainingSQL += " AND batch_id = ?"; args.append(.int(batchId)) }
            let remaining = Int(try db.scalarInt(remainingSQL, args) ?? 0)
            return QueueStats(windows: windows, remaining: remaining, etaSeconds: WindowStats.eta(remaining: remaining, windows: windows))
        }
    }

    private func window(_ name: String, seconds: Double?, now: Double, batchId: Int64?) throws -> WindowStats {
        var clause = "finished_at >= ?"
        var args: [SQLValue] = [.double(seconds.map { now - $0 } ?? 0)]
        if let batchId { clause += " AND batch_id = ?"; args.append(.int(batchId)) }
        let s = try db.prepare("""
            SELECT queue_wait_ms, text_ms, unet_ms, decode_ms, png_ms, total_ms, claimed_at FROM jobs
            WHERE state = 'succeeded' AND \(clause)
            """)
        try s.bind(args)
        var cols = [[Double]](repeating: [], count: 6)
        var first = Double.infinity
        while try s.step() {
            for c in 0..<6 { cols[c].append(s.double(Int32(c))) }
            first = min(first, s.double(6))
        }
        let failed = Int(try db.scalarInt("SELECT count(*) FROM jobs WHERE state = 'failed' AND \(clause)", args) ?? 0)
        return WindowStats.make(name, seconds: seconds, now: now, columns: cols, firstClaimed: first, failed: failed)
    }

    static func percentiles(_ values: [Double]) -> Percentiles {
        let v = values.sorted()
        func at(_ q: Double) -> Double { v[min(v.count - 1, Int((q * Double(v.count - 1)).rounded()))] }
        return Percentiles(p50: at(0.50), p95: at(0.95), p99: at(0.99), mean: v.reduce(0, +) / Double(v.count))
    }
}
