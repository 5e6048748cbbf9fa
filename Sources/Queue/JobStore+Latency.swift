import Foundation

extension JobStore {
    /// The all-time window from the latency histograms and the state counters (migration v4), never the job rows:
    /// a few hundred bucket rows per batch at any number of finished jobs.
    func allTimeWindowLocked(_ name: String, now: Double, batchId: Int64?) throws -> WindowStats {
        let filter = batchId == nil ? "" : " WHERE batch_id = ?"
        let args: [SQLValue] = batchId.map { [.int($0)] } ?? []
        var latency = AllTimeLatency()
        let t = try db.prepare("""
            SELECT coalesce(sum(n), 0), \(LatencyHistogram.columns.map { "total(\($0))" }.joined(separator: ", ")),
                   coalesce(sum(completed_ever), 0), min(first_claimed)
            FROM latency_totals\(filter)
            """)
        try t.bind(args)
        if try t.step() {
            latency.count = Int(t.int(0))
            latency.sums = (0..<6).map { t.double(Int32($0 + 1)) }
            latency.completedEver = Int(t.int(7))
            latency.firstClaimed = latency.completedEver > 0 ? t.double(8) : nil
        }
        let b = try db.prepare("SELECT stage, bucket, sum(n) FROM latency_buckets\(filter) GROUP BY stage, bucket")
        try b.bind(args)
        while try b.step() { latency.add(stage: Int(b.int(0)), bucket: Int(b.int(1)), n: Int(b.int(2))) }
        let failedSQL = "SELECT coalesce(sum(n), 0) FROM batch_counts WHERE state = 'failed'" + (batchId == nil ? "" : " AND batch_id = ?")
        let failed = Int(try db.scalarInt(failedSQL, args) ?? 0)
        return latency.window(name, now: now, failed: failed)
    }
}
