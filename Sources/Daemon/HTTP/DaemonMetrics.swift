import Foundation
import Prometheus
import Queue
import Wire

/// The daemon's Prometheus series (`GET /metrics`, text format 0.0.4), counted since this process started.
///
/// Counters and histograms are fed where events happen (submit, cancel, a worker settling a job); the gauges are
/// read from the queue and the workers when scraped. Label sets are fixed here — never a batch name or prompt —
/// so the number of series stays bounded however many batches run.
///
/// One instance per process (`shared`): the hooks in the render worker and the handlers are then one-line calls
/// that need no new constructor arguments, and a process is exactly one daemon.
final class DaemonMetrics: Sendable {
    static let shared = DaemonMetrics()

    /// Stages of `mdd_job_stage_seconds`, in the order of a job's life.
    static let stages = ["queue_wait", "text", "unet", "decode", "png", "total"]
    /// Finished outcomes of `mdd_jobs_finished_total`.
    static let outcomes = ["succeeded", "failed", "canceled"]
    /// Worker states of `mdd_workers` (`RenderWorker.Snapshot.state`); anything else is counted as "other".
    static let workerStates = ["starting", "idle", "rendering", "stopped", "other"]
    /// 1 ms to 10 min, roughly ×2.5 per bucket: a tiny test model's stages land in the first few buckets, a
    /// 512² render's UNet near 1 s, and a long queue wait near the top.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60,
                                    150, 300, 600]

    let registry = PrometheusCollectorRegistry()
    /// Per-minute completions of the last hour, for the status page's plot.
    let history = CompletionHistory()
    /// Per-batch images/s of the last minutes, for the status page's rates and ETAs.
    let batchRates = BatchThroughput()
    /// Where the oldest pending job was found last, so scrapes do not walk the finished history.
    let oldestPending = OldestPendingProbe()
    /// Per-node gauges of the whole cluster (`mdd_node_*{node=…}`).
    let cluster: ClusterMetrics
    private let submitted: Counter
    private let finished: [String: Counter]
    private let stageSeconds: [String: ValueHistogram]
    private let jobs: [String: Gauge]
    private let oldestPendingAge: Gauge
    private let workers: [String: Gauge]

    init() {
        let r = registry
        submitted = r.makeCounter(descriptor: Self.name("jobs_submitted", "total", "Jobs enqueued since the daemon started."))
        let finishedName = Self.name("jobs_finished", "total", "Jobs that reached a final state since the daemon started.")
        finished = Dictionary(uniqueKeysWithValues: Self.outcomes.map { ($0, r.makeCounter(descriptor: finishedName, labels: [("outcome", $0)])) })
        let stageName = Self.name("job_stage", "seconds", "Time per stage of the jobs rendered since the daemon started.")
        stageSeconds = Dictionary(uniqueKeysWithValues: Self.stages.map {
            ($0, r.makeValueHistogram(descriptor: stageName, labels: [("stage", $0)], buckets: Self.buckets))
        })
        let jobsName = Self.name("jobs", "", "Unfinished jobs: pending (claimable), running, paused (pending in a paused queue or batch).")
        jobs = Dictionary(uniqueKeysWithValues: ["pending", "running", "paused"].map { ($0, r.makeGauge(descriptor: jobsName, labels: [("state", $0)])) })
        oldestPendingAge = r.makeGauge(descriptor: Self.name("queue_oldest_pending_age", "seconds", "Age of the oldest pending job (0 when none)."))
        let workersName = Self.name("workers", "", "Render workers of this daemon by state.")
        workers = Dictionary(uniqueKeysWithValues: Self.workerStates.map { ($0, r.makeGauge(descriptor: workersName, labels: [("state", $0)])) })
        cluster = ClusterMetrics(registry: r)
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mdd", metricName: metric, unitName: unit, helpText: help)
    }

    /// Sets `mdd_build_info` once the model is loaded (value 1; the labels carry the identity).
    func setBuildInfo(version: String, model: String, modelSHA256: String, precision: String) {
        registry.makeGauge(descriptor: Self.name("build_info", "", "Version, model and precision of this daemon."),
                           labels: [("version", version), ("model", model), ("model_sha256", modelSHA256), ("precision", precision)])
            .set(to: 1)
    }

    // MARK: Events

    /// Jobs enqueued by a submit (duplicates are not counted).
    func jobsSubmitted(_ count: Int) {
        if count > 0 { submitted.increment(by: Int64(count)) }
    }

    /// Jobs canceled by a cancel request.
    func jobsCanceled(_ count: Int) {
        if count > 0 { finished["canceled"]?.increment(by: Int64(count)) }
    }

    /// A job failed for good (no attempts left, or not retryable).
    func jobFailed() { finished["failed"]?.increment() }

    /// A job committed as succeeded. An output reused after a crash has no stage times of its own (the worker
    /// records zeros): it is counted but not observed in the histograms.
    func jobSucceeded(_ job: Job, timings: JobTimings) {
        finished["succeeded"]?.increment()
        let now = Date().timeIntervalSince1970
        history.record(at: now)
        batchRates.record(batch: job.batch, at: now)
        guard timings.totalMs > 0 else { return }
        if let claimed = job.claimedAt { stageSeconds["queue_wait"]?.record(max(0, claimed - job.createdAt)) }
        let ms = ["text": timings.textMs, "unet": timings.unetMs, "decode": timings.decodeMs, "png": timings.pngMs,
                  "total": timings.totalMs]
        for (stage, value) in ms { stageSeconds[stage]?.record(value / 1000) }
    }

    // MARK: Scrape

    /// The exposition: gauges refreshed from the queue, this daemon's workers and the cluster's nodes (nil before the
    /// node reporter runs), then every series.
    func exposition(status: QueueStatus, oldestPendingCreatedAt: Double?, workerStates: [String], nodes: [NodeInfo]?, now: Double) -> String {
        let held = status.paused ? status.counts.pending : status.batches.filter(\.paused).reduce(0) { $0 + $1.counts.pending }
        jobs["pending"]?.set(to: Double(status.counts.pending - held))
        jobs["running"]?.set(to: Double(status.counts.running))
        jobs["paused"]?.set(to: Double(held))
        oldestPendingAge.set(to: oldestPendingCreatedAt.map { max(0, now - $0) } ?? 0)
        var byState = Dictionary(uniqueKeysWithValues: Self.workerStates.map { ($0, 0) })
        for s in workerStates { byState[Self.workerStates.contains(s) ? s : "other", default: 0] += 1 }
        for (s, n) in byState { workers[s]?.set(to: Double(n)) }
        if let nodes { cluster.update(nodes) }
        return registry.emitToString()
    }
}
