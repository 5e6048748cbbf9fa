import Foundation

extension PostgresJobStore {
    /// The latency totals and the changes not folded into them yet; their sums per batch are the totals.
    private static let totalRows: String = {
        let cols = "batch_id, n, \(LatencyHistogram.columns.joined(separator: ", ")), completed_ever, first_claimed"
        return "SELECT \(cols) FROM latency_totals UNION ALL SELECT \(cols) FROM latency_total_deltas"
    }()

    /// The bucket counts and the changes not folded into them yet.
    private static let bucketRows = """
        SELECT batch_id, stage, bucket, n FROM latency_buckets UNION ALL SELECT batch_id, stage, bucket, n FROM latency_bucket_deltas
        """

    /// Any 64-bit constant unique to mdd: held by the node folding the latency changes.
    static let latencyFoldLock: Int64 = 0x6D64_645F_6869_7374  // "mdd_hist"

    /// The all-time window from the latency histograms and the state counters (migration v4), never the job rows.
    static func allTimeWindow(on db: PGConnection, _ name: String, now: Double, batchId: String?) throws -> WindowStats {
        try foldLatency(on: db)
        let filter = batchId == nil ? "" : " WHERE batch_id = $1::bigint"
        let params = batchId.map { [$0] } ?? []
        var latency = AllTimeLatency()
        if let values = try db.query("""
            SELECT coalesce(sum(n), 0), \(LatencyHistogram.columns.map { "coalesce(sum(\($0)), 0)" }.joined(separator: ", ")),
                   coalesce(sum(completed_ever), 0), min(first_claimed)
            FROM (\(Self.totalRows)) u\(filter)
            """, params).rows.first {
            let r = PGRow(values: values)
            latency.count = Int(r.int(0))
            latency.sums = (0..<6).map { r.double($0 + 1) }
            latency.completedEver = Int(r.int(7))
            latency.firstClaimed = r.optionalDouble(8)
        }
        for values in try db.query("SELECT stage, bucket, sum(n) FROM (\(Self.bucketRows)) u\(filter) GROUP BY stage, bucket", params).rows {
            let r = PGRow(values: values)
            latency.add(stage: Int(r.int(0)), bucket: Int(r.int(1)), n: Int(r.int(2)))
        }
        let failed = Int(try db.query("SELECT coalesce(sum(n), 0) FROM (\(Self.countRows)) u WHERE state = 'failed'"
                                      + (batchId == nil ? "" : " AND batch_id = $1::bigint"), params).scalar ?? "0") ?? 0
        return latency.window(name, now: now, failed: failed)
    }

    /// Folds the latency changes appended since the last fold into the totals and buckets, in one transaction,
    /// unless another node is folding right now (the same try-lock reasoning as `foldCounts`).
    static func foldLatency(on db: PGConnection) throws {
        let cols = LatencyHistogram.columns
        try db.transaction {
            guard try db.query("SELECT pg_try_advisory_xact_lock($1::bigint)", [String(latencyFoldLock)]).scalar == "t" else { return }
            try db.query("""
                WITH d AS (DELETE FROM latency_bucket_deltas RETURNING batch_id, stage, bucket, n)
                INSERT INTO latency_buckets AS b (batch_id, stage, bucket, n)
                SELECT batch_id, stage, bucket, sum(n) FROM d GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                ON CONFLICT (batch_id, stage, bucket) DO UPDATE SET n = b.n + excluded.n
                """)
            try db.query("""
                WITH d AS (DELETE FROM latency_total_deltas RETURNING *)
                INSERT INTO latency_totals AS t
                SELECT batch_id, sum(n), \(cols.map { "sum(\($0))" }.joined(separator: ", ")), sum(completed_ever),
                       min(first_claimed), max(last_finished)
                FROM d GROUP BY batch_id ORDER BY batch_id
                ON CONFLICT (batch_id) DO UPDATE SET n = t.n + excluded.n,
                    \(cols.map { "\($0) = t.\($0) + excluded.\($0)" }.joined(separator: ", ")),
                    completed_ever = t.completed_ever + excluded.completed_ever,
                    first_claimed = least(t.first_claimed, excluded.first_claimed),
                    last_finished = greatest(t.last_finished, excluded.last_finished)
                """)
        }
    }
}
