import Engine
import Foundation
import Queue
import Wire

/// `workers`: what each render worker is doing.
enum WorkersHandler {
    static func handle(_ r: Empty, _ c: DaemonContext) throws -> WorkersReply {
        WorkersReply(workers: c.workers.map { w in
            let s = w.snapshot
            return WorkerInfo(id: w.id, state: s.state, jobId: s.jobId, completed: s.completed, failed: s.failed,
                              sinceSeconds: Date().timeIntervalSince(s.since))
        })
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
                           onednn: EngineBackend.onednnSummary, queueReachable: remote?.reachable, queueConnection: remote?.summary)
    }
}
