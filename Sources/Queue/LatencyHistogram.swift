import Foundation

/// The all-time `stats` window read from running per-batch latency histograms instead of the job rows: at
/// 10 million finished jobs, sorting every row's latencies took 13 s on SQLite and 49 s on PostgreSQL.
///
/// Each succeeded job adds its six stage latencies (queue wait, text, UNet, decode, PNG, total, in ms) to
/// log-spaced buckets of its batch: bucket `b = floor(ln(ms) / ln(1.02))` covers `[1.02^b, 1.02^(b+1))` ms, and
/// a percentile reports its bucket's geometric middle `1.02^(b + 0.5)`, so it is within ±1 % of the exact value.
/// Latencies under 1 ms share bucket 0 and read as 1.01 ms (an absolute error under 1.02 ms). Counts, sums (so
/// the mean), the first claim and the last finish are kept exactly. The stores' triggers compute the bucket
/// (`bucketSQL`) when a job becomes succeeded and subtract it again when a succeeded job is deleted (prune) or
/// leaves that state.
enum LatencyHistogram {
    /// Bucket width as a ratio: 2 % wide buckets put the geometric middle within 1 % of any value in them.
    static let ratio = 1.02

    /// The latency columns, in the order of `WindowStats.stageNames`; a stage's histogram is keyed by its index.
    static let columns = ["queue_wait_ms", "text_ms", "unet_ms", "decode_ms", "png_ms", "total_ms"]

    /// The SQL expression of the bucket of `value` (ms); `max` is SQLite's `max`, PostgreSQL's `greatest`.
    static func bucketSQL(_ value: String, max: String) -> String {
        "floor(ln(\(max)(coalesce(\(value), 0), 1.0)) / ln(\(ratio)))"
    }

    /// The value a bucket reports: its geometric middle, in ms.
    static func representative(_ bucket: Int) -> Double { pow(ratio, Double(bucket) + 0.5) }
}

/// The exact totals and the bucket counts of the succeeded jobs of one batch or of all batches.
struct AllTimeLatency {
    /// Succeeded jobs now in the queue (pruned ones excluded).
    var count = 0
    /// Sum of each stage's latency over those jobs, in ms, in `LatencyHistogram.columns` order.
    var sums = [Double](repeating: 0, count: 6)
    /// Jobs that ever succeeded, pruned ones included: the throughput's numerator.
    var completedEver = 0
    /// The earliest claim of any job that ever succeeded (epoch seconds), the start of the throughput's span.
    var firstClaimed: Double?
    /// Bucket counts per stage: `buckets[stage][bucket] = n`.
    var buckets = [[Int: Int]](repeating: [:], count: 6)

    /// Adds `n` jobs to `bucket` of `stage` (rows of the bucket tables, summed over batches).
    mutating func add(stage: Int, bucket: Int, n: Int) {
        guard (0..<6).contains(stage) else { return }
        buckets[stage][bucket, default: 0] += n
    }

    /// The all-time window: percentiles from the buckets, the mean from the exact sums, and the rate of every
    /// job that ever succeeded since the first claim (pruning removes rows, not the work that was done).
    func window(_ name: String, now: Double, failed: Int) -> WindowStats {
        var stages: [String: Percentiles] = [:]
        if count > 0 {
            for (i, key) in WindowStats.stageNames.enumerated() { stages[key] = percentiles(stage: i) }
        }
        let span = max(now - (firstClaimed ?? now), 1)
        return WindowStats(window: name, seconds: nil, completed: count, failed: failed,
                           imagesPerMinute: completedEver == 0 ? 0 : Double(completedEver) / span * 60, stages: stages)
    }

    /// p50/p95/p99 at the same ranks as the exact `JobStore.percentiles` (round(q·(n−1)) of the sorted values),
    /// each the representative of the bucket that rank falls in.
    func percentiles(stage: Int) -> Percentiles {
        let sorted = buckets[stage].filter { $0.value > 0 }.sorted { $0.key < $1.key }
        let n = sorted.reduce(0) { $0 + $1.value }
        func at(_ q: Double) -> Double {
            let rank = min(n - 1, Int((q * Double(max(n - 1, 0))).rounded()))
            var seen = 0
            for (bucket, k) in sorted {
                seen += k
                if seen > rank { return LatencyHistogram.representative(bucket) }
            }
            return sorted.last.map { LatencyHistogram.representative($0.key) } ?? 0
        }
        return Percentiles(p50: at(0.50), p95: at(0.95), p99: at(0.99), mean: count == 0 ? 0 : sums[stage] / Double(count))
    }
}
