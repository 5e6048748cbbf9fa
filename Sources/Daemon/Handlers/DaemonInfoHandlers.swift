import Engine
import Foundation
import Queue
import Wire

/// `workers`: this daemon's render workers, and every node of the cluster with its workers from the queue's nodes
/// table. This daemon's own row is taken live rather than from its last heartbeat, so it is never shown stale.
enum WorkersHandler {
    static func handle(_ r: Empty, _ c: DaemonContext) throws -> WorkersReply {
        let own = c.workers.map { w in
            let s = w.snapshot
            return WorkerInfo(id: w.id, state: s.state, jobId: s.jobId, completed: s.completed, failed: s.failed,
                              sinceSeconds: Date().timeIntervalSince(s.since))
        }
        return WorkersReply(workers: own, nodes: try nodes(c))
    }

    /// Every node of the cluster, this one live; nil before the reporter exists (start-up).
    static func nodes(_ c: DaemonContext) throws -> [NodeInfo]? {
        guard let reporter = c.nodeReporter else { return nil }
        var records = try c.store.nodes().filter { $0.report.name != c.configuration.node }
        records.append(NodeRecord(report: reporter.current(), startedAt: 0, heartbeatAgeSeconds: 0))
        let lostAfter = c.configuration.leaseSeconds
        let nodes = records.sorted { $0.report.name < $1.report.name }.map { n in
            NodeInfo(name: n.report.name, host: n.report.host, pid: n.report.pid, state: n.report.state,
                     imagesPerSecond: n.report.imagesPerSecond, uptimeSeconds: n.report.uptimeSeconds,
                     heartbeatAgeSeconds: n.heartbeatAgeSeconds, lost: n.isLost(after: lostAfter),
                     workers: n.report.workers.map { w in
                         WorkerInfo(id: w.id, state: w.state, jobId: w.jobId, completed: w.completed, failed: w.failed,
                                    sinceSeconds: w.sinceSeconds, imagesPerSecond: w.imagesPerSecond)
                     })
        }
        return nodes
    }

    /// Render workers of the nodes that are up (neither lost nor stopped), for `status` through any node.
    static func clusterWorkerCount(_ c: DaemonContext) throws -> Int {
        guard let nodes = try nodes(c) else { return c.workers.count }
        return nodes.filter { !$0.lost && $0.state != NodeState.stopped.rawValue }.map(\.workers.count).reduce(0, +)
    }
}

/// `health`: identity and vital signs of the daemon.
enum HealthHandler {
    static func handle(_ r: Empty, _ c: DaemonContext) throws -> HealthReply {
        let remote = (c.store as? any RemoteQueue)?.connectivity
        let blas = (try? BLAS.get()).map { "OpenBLAS \($0.coreName), \($0.threads) threads" } ?? "unavailable"
        return HealthReply(ok: c.lifecycle == "running", version: MDD.version, pid: getpid(),
                           uptimeSeconds: Date().timeIntervalSince(c.started), model: c.engine.modelName,
                           modelSha256: c.engine.weightsSHA256, blas: blas, stateDir: c.configuration.stateDir,
                           outputDir: c.configuration.outputDir, peakRssMb: ResourceUsage.peakRSSBytes() / 1_048_576,
                           lifecycle: c.lifecycle, diskFull: c.disk.status, precision: c.engine.precision.rawValue,
                           products: (try? BLAS.get()).map { EngineBackend.describe(precision: c.engine.precision, blas: $0) },
                           onednn: EngineBackend.onednnSummary, notificationWakeups: c.wakeListener?.notificationWakeups,
                           listening: c.wakeListener?.isListening, queueReachable: remote?.reachable, queueConnection: remote?.summary)
    }
}
