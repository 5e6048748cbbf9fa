import Foundation
import Logging
import Queue
import Wire

/// Writes this daemon's row of the nodes table (state, workers, images/s) on a timer thread, so that any node's
/// `mdctl workers` lists the whole cluster, and a node whose heartbeat stops is shown as lost. The cadence is the
/// lease renewal's (a third of a lease, at most 5 s): a node counts as lost once a whole lease passes without a
/// heartbeat, which is also when its jobs start going back to pending.
final class NodeReporter: @unchecked Sendable {
    private let context: DaemonContext
    private var timer: DispatchSourceTimer?
    private let lock = NSLock()
    /// Completed counts per worker at the previous report, and when: images/s is the difference over the interval.
    private var previous: (at: Date, completed: [String: Int])?
    private var rates: [String: Double] = [:]
    private var failing = false
    /// Set by `stop()`: a beat that was already waiting for the lock must not overwrite the `stopped` row.
    private var stopped = false
    /// Whether this daemon has written its row once (a row from its own previous run is no intruder), and the last
    /// other process found in it.
    private var reported = false
    private var intruder: String?
    private let host = Daemon.hostname()

    /// Seconds between heartbeats for a lease of `leaseSeconds`.
    static func interval(leaseSeconds: Double) -> Double { min(5, leaseSeconds / 3) }

    init(context: DaemonContext) { self.context = context }

    /// Starts the beats (the first one now). The timer is made here, not in init: libdispatch traps when a source
    /// that was never resumed is released, which a start-up failure between the two would do.
    func start() {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mdd.node-heartbeat"))
        t.schedule(deadline: .now(), repeating: Self.interval(leaseSeconds: context.configuration.leaseSeconds))
        t.setEventHandler { [weak self] in self?.beat() }
        t.resume()
        lock.withLock { timer = t }
    }

    /// Stops the beats and records the node as stopped (a clean stop: not lost, its workers idle).
    func stop() {
        lock.withLock {
            timer?.cancel()
            stopped = true
            do { try context.store.report(node: report(state: .stopped)) } catch {
                context.log.warning("cannot record this node as stopped: \(error); other nodes will show it lost")
            }
        }
    }

    /// Reports once (the timer's work). A failure is logged once per outage, not once per beat.
    private func beat() {
        lock.withLock {
            guard !stopped else { return }
            do {
                let previous = try context.store.report(node: report(state: nil))
                if reported, let p = previous { noticeIntruder(p) }
                reported = true
                if failing { context.log.info("node heartbeat recorded again") }
                failing = false
            } catch {
                if !failing { context.log.error("cannot record the node heartbeat: \(error); retrying every beat") }
                failing = true
            }
        }
    }

    /// Warns when the row this daemon wrote last was overwritten by another process: two daemons share a `--node`
    /// name, so `mdctl workers` shows one of them at a time. Once per other process, not once per beat.
    private func noticeIntruder(_ p: NodeReport) {
        guard p.pid != getpid() || p.host != host, p.state != NodeState.stopped.rawValue else { return }
        let who = "\(p.host) pid \(p.pid)"
        guard who != intruder else { return }
        intruder = who
        context.log.warning("another daemon (\(who)) also reports as node '\(context.configuration.node)'; give each daemon its own --node")
    }

    /// This node as it is now, for `mdctl workers` on this node (images/s as of the last heartbeat).
    func current() -> NodeReport { lock.withLock { report(state: nil, advance: false) } }

    /// This node as it is now; `state` overrides the derived state (`stopped` on the way out). With `advance`, the
    /// rates are measured since the previous report and this one becomes the next one's base.
    private func report(state: NodeState?, advance: Bool = true) -> NodeReport {
        let now = Date()
        let snapshots = context.workers.map { ($0.id, $0.snapshot) }
        if advance {
            let elapsed = previous.map { now.timeIntervalSince($0.at) } ?? 0
            for (id, s) in snapshots {
                guard let before = previous?.completed[id], elapsed > 0 else { continue }
                rates[id] = Double(max(0, s.completed - before)) / elapsed
            }
            previous = (now, Dictionary(uniqueKeysWithValues: snapshots.map { ($0.0, $0.1.completed) }))
        }
        let workers = snapshots.map { id, s in
            WorkerReport(id: id, state: state == .stopped ? "stopped" : s.state, jobId: s.jobId, completed: s.completed, failed: s.failed,
                         imagesPerSecond: state == .stopped ? 0 : rates[id] ?? 0, sinceSeconds: now.timeIntervalSince(s.since))
        }
        let derived = state ?? Self.state(lifecycle: context.lifecycle, diskFull: context.disk.status != nil,
                                          queuePaused: (try? context.store.isPaused()) ?? false, workerStates: workers.map(\.state))
        return NodeReport(name: context.configuration.node, host: host, pid: getpid(), uptimeSeconds: now.timeIntervalSince(context.started),
                          state: derived.rawValue, imagesPerSecond: workers.map(\.imagesPerSecond).reduce(0, +), workers: workers)
    }

    /// The node's state from its parts: the lifecycle first, then a full disk, then what the workers do.
    static func state(lifecycle: String, diskFull: Bool, queuePaused: Bool, workerStates: [String]) -> NodeState {
        switch lifecycle {
        case "starting": return .starting
        case "stopping": return .stopping
        default: break
        }
        if diskFull { return .diskFull }
        if workerStates.contains("rendering") { return .rendering }
        return queuePaused ? .paused : .idle
    }
}
