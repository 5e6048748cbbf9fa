import ArgumentParser
import Foundation
import Wire

/// `mdctl status`: queue and batch counts, rate and ETA.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show queue and batch counts, rate and ETA.", discussion: "Example: mdctl status --batch cats")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this batch.") var batch: String?

    func run() throws {
        let s = try global.call(.status, StatusRequest(batch: batch), as: StatusReply.self)
        if global.json { return try global.printJSON(s) }
        let rows = s.batches.map { b in
            [b.name + (b.paused ? " (paused)" : ""), Format.count(b.counts.total), Format.count(b.counts.pending), Format.count(b.counts.running),
             Format.count(b.counts.succeeded), Format.count(b.counts.failed), Format.count(b.counts.canceled),
             String(format: "%.0f%%", b.counts.total == 0 ? 100 : Double(b.counts.settled) / Double(b.counts.total) * 100)]
        }
        print(Format.table(["BATCH", "TOTAL", "PENDING", "RUNNING", "DONE", "FAILED", "CANCELED", "PROGRESS"], rows))
        let c = s.counts
        print("\nqueue\(s.paused ? " (PAUSED)" : ""): \(Format.count(c.total)) jobs, \(Format.count(c.pending + c.running)) left; \(Format.rate(s.imagesPerMinute)); ETA \(Format.duration(c.pending + c.running == 0 ? 0 : s.etaSeconds)); model \(s.model); \(s.workers) worker(s)")
        if let full = s.diskFull { print("claims paused: \(full) (they resume by themselves when space returns)") }
    }
}

/// `mdctl stats`: images/min and per-stage p50/p95/p99 over 1 min, 5 min, 1 h and all time (the last from
/// histograms, ±1 %).
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Throughput and per-stage latency percentiles.", discussion: """
        The 1m, 5m and 1h windows are exact. The all-time window's percentiles come from histograms kept as jobs \
        finish and are within ±1 % of the exact values (under 1 ms they read as 1.01 ms); its counts and means are \
        exact.

        Example: mdctl stats --batch cats --json
        """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this batch.") var batch: String?

    func run() throws {
        let s = try global.call(.stats, StatusRequest(batch: batch), as: StatsReply.self)
        if global.json { return try global.printJSON(s) }
        print(Format.table(["WINDOW", "DONE", "FAILED", "RATE"], s.windows.map { [$0.window, Format.count($0.completed), Format.count($0.failed), Format.rate($0.imagesPerMinute)] }))
        if let all = s.windows.last, !all.stages.isEmpty {
            let order = ["queue_wait", "text", "unet", "decode", "png", "total"]
            print("\nlatency (\(all.window)):")
            print(Format.table(["STAGE", "P50", "P95", "P99", "MEAN"], order.compactMap { k in
                all.stages[k].map { [k, Format.ms($0.p50), Format.ms($0.p95), Format.ms($0.p99), Format.ms($0.mean)] }
            }))
        }
        print("\n\(Format.count(s.remaining)) left, ETA \(Format.duration(s.remaining == 0 ? 0 : s.etaSeconds))")
    }
}

/// `mdctl workers`: every node of the cluster (one on an SQLite queue) and what each render worker is doing.
struct Workers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the nodes and render workers of the cluster.",
        discussion: """
            Any node's socket lists every node that shares its queue, from the queue's nodes table: state \
            (rendering, idle, paused, disk-full, stopping, stopped), images/s and the age of its last heartbeat. A node \
            that has not sent a heartbeat for longer than a lease, without stopping cleanly, is shown as LOST: it \
            crashed, hangs or cannot reach the database, and its jobs return to pending as their leases expire.

            Example: mdctl workers
            """)
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let r = try global.call(.workers, Empty(), as: WorkersReply.self)
        if global.json { return try global.printJSON(r) }
        guard let nodes = r.nodes else {  // a daemon from before the nodes table: its own workers only
            return print(Format.table(["WORKER", "STATE", "JOB", "DONE", "FAILED", "FOR"], r.workers.map {
                [$0.id, $0.state, $0.jobId.map(String.init) ?? "—", Format.count($0.completed), Format.count($0.failed), Format.duration($0.sinceSeconds)]
            }))
        }
        let nodeRows: [[String]] = nodes.map { n in
            let state = n.lost ? "LOST (was \(n.state))" : n.state
            return [n.name, n.host, String(n.pid), state, String(format: "%.2f", n.imagesPerSecond),
                    Format.duration(n.uptimeSeconds), Format.duration(n.heartbeatAgeSeconds) + " ago"]
        }
        print(Format.table(["NODE", "HOST", "PID", "STATE", "IMAGES/S", "UP", "HEARTBEAT"], nodeRows))
        print("")
        var workerRows: [[String]] = []
        for n in nodes {
            for w in n.workers {
                let job = w.jobId.map(String.init) ?? "—"
                workerRows.append([n.name, w.id, n.lost ? "lost" : w.state, job, String(format: "%.2f", w.imagesPerSecond ?? 0),
                                   Format.count(w.completed), Format.count(w.failed), Format.duration(w.sinceSeconds)])
            }
        }
        print(Format.table(["NODE", "WORKER", "STATE", "JOB", "IMAGES/S", "DONE", "FAILED", "FOR"], workerRows))
    }
}

/// `mdctl health`: daemon identity and vital signs (exit 1 unless running).
struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that the daemon is up and show its identity.", discussion: "Example: mdctl --socket /run/mdd/mdd.sock health")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let h = try global.call(.health, Empty(), as: HealthReply.self)
        if global.json { try global.printJSON(h) } else {
            print("""
                mdd \(h.version) pid \(h.pid): \(h.lifecycle), up \(Format.duration(h.uptimeSeconds))
                model:   \(h.model) (weights sha256 \(h.modelSha256.prefix(16))…)
                blas:    \(h.blas)
                precision: \(h.precision ?? "fp32") — products: \(h.products ?? "-")
                oneDNN:  \(h.onednn ?? "-")
                state:   \(h.stateDir)
                outputs: \(h.outputDir)
                peak RSS \(String(format: "%.0f", h.peakRssMb)) MB
                """)
            if let full = h.diskFull { print("PAUSED:  \(full) (claims resume by themselves when space returns)") }
            if let queue = h.queueConnection { print("queue:   \(queue)") }
            if let wakeups = h.notificationWakeups {
                print("wake-ups: \(h.listening == true ? "listening" : "NOT listening (polling every second)"), \(wakeups) by notification")
            }
        }
        if !h.ok { throw CtlFailure(.failure, "daemon is \(h.lifecycle)") }
    }
}
